import CAFAlg
#if canImport(Glibc)
import Glibc
#endif

/// One AF_ALG socket descriptor, closed when the object goes away.
///
/// A *transform* socket is bound to an algorithm and holds the key; an *operation* socket comes
/// from `accept` on it and carries the data of one operation at a time.
final class AlgSocket {
    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { system_close(descriptor) }

    /// Creates a transform socket bound to `type`/`name`.
    /// - Parameters:
    ///   - feature: `salg_feat`; with `mask`, selects or excludes driver properties.
    /// - Throws: ``AFAlgError`` with code `.unavailable` when AF_ALG or the algorithm is missing.
    static func transform(type: AlgType, name: String, feature: UInt32 = 0, mask: UInt32 = 0) throws -> AlgSocket {
        let fd: Int32
        switch system_socket(SocketConstants.afAlg, SocketConstants.seqPacket | SocketConstants.closeOnExec, 0) {
        case .success(let value): fd = value
        case .failure(let errno):
            throw AFAlgError.setup("socket", errno, type: type, algorithm: name)
        }
        let socket = AlgSocket(descriptor: fd)
        var address = sockaddr_alg()
        address.salg_family = UInt16(SocketConstants.afAlg)
        address.salg_feat = feature
        address.salg_mask = mask
        guard copyCString(type.rawValue, into: &address.salg_type),
              copyCString(name, into: &address.salg_name)
        else {
            throw AFAlgError(.invalidArgument, "algorithm name too long: \(type.rawValue)/\(name)")
        }
        let result = withUnsafeBytes(of: &address) { system_bind(fd, $0.baseAddress!, $0.count) }
        if case .failure(let errno) = result {
            throw AFAlgError.setup("bind", errno, type: type, algorithm: name)
        }
        return socket
    }

    /// Sets a `SOL_ALG` option whose value is a byte string (a key, a key serial).
    func setOption(_ option: AlgOption, bytes: UnsafeRawBufferPointer, what: String) throws {
        if case .failure(let errno) = system_setsockopt(descriptor, SocketConstants.solAlg, option.rawValue, bytes.baseAddress, bytes.count) {
            throw AFAlgError.syscall("setsockopt(\(what))", errno, context: "cannot set \(what)")
        }
    }

    /// Keys the transform from a kernel keyring key (`user`, `logon`, `trusted` or `encrypted`),
    /// so the key never enters this process's memory.
    /// - Throws: ``AFAlgError`` with code `.unsupported` on kernels before 6.2.
    func setKey(serial: Int32) throws {
        var serial = serial
        do {
            try withUnsafeBytes(of: &serial) { try setOption(.setKeyByKeySerial, bytes: $0, what: "ALG_SET_KEY_BY_KEY_SERIAL") }
        } catch let error as AFAlgError where error.errno == .protocolNotAvailable {
            throw AFAlgError(.unsupported, "a kernel keyring key for AF_ALG (ALG_SET_KEY_BY_KEY_SERIAL) needs Linux 6.2 or later; this kernel answered ENOPROTOOPT",
                             syscall: error.syscall, errno: error.errno)
        }
    }

    /// Sets a `SOL_ALG` option whose value the kernel takes from `optlen` (`ALG_SET_AEAD_AUTHSIZE`).
    func setOption(_ option: AlgOption, length: Int, what: String) throws {
        if case .failure(let errno) = system_setsockopt(descriptor, SocketConstants.solAlg, option.rawValue, nil, length) {
            throw AFAlgError.syscall("setsockopt(\(what))", errno, context: "cannot set \(what)")
        }
    }

    /// Accepts an operation socket; must come after the key and tag size are set.
    func accept() throws -> AlgSocket {
        switch system_accept(descriptor) {
        case .success(let fd): return AlgSocket(descriptor: fd)
        case .failure(let errno): throw AFAlgError.syscall("accept", errno, context: "cannot open an AF_ALG operation socket")
        }
    }

    /// The kernel's page size, the unit of AF_ALG's buffer accounting.
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Asks for `bytes` of send and receive buffer and reads back what the kernel granted.
    ///
    /// The kernel doubles the request and caps it at `2 × net.core.{w,r}mem_max` without
    /// privileges, so asking for more than allowed is harmless.
    /// - Returns: the effective send and receive space, rounded down to whole pages as
    ///   `af_alg_sndbuf()`/`af_alg_rcvbuf()` do.
    func raiseBuffers(to bytes: Int) -> (send: Int, receive: Int) {
        var request = Int32(clamping: bytes)
        for option in [SocketConstants.sendBuffer, SocketConstants.receiveBuffer] {
            _ = system_setsockopt(descriptor, SocketConstants.solSocket, option, &request, MemoryLayout<Int32>.size)
        }
        let page = Self.pageSize
        func effective(_ option: Int32) -> Int {
            let raw = (try? system_getsockopt_int(descriptor, SocketConstants.solSocket, option).get()).map(Int.init) ?? 0
            return max(raw & ~(page - 1), page)
        }
        return (effective(SocketConstants.sendBuffer), effective(SocketConstants.receiveBuffer))
    }
}

/// Copies a NUL-terminated C string into a fixed-size C array field; false if it does not fit.
private func copyCString<T>(_ string: String, into field: inout T) -> Bool {
    let bytes = Array(string.utf8)
    return withUnsafeMutableBytes(of: &field) { raw in
        guard bytes.count < raw.count else { return false }
        raw.initializeMemory(as: UInt8.self, repeating: 0)
        raw.copyBytes(from: bytes)
        return true
    }
}
