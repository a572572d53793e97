import CAFAlg
#if canImport(Glibc)
import Glibc
#endif

/// An AEAD algorithm keyed in the kernel: one AF_ALG transform socket per key.
///
/// The key and tag size are set on the transform before any operation socket is accepted (the
/// kernel refuses to rekey while operation sockets are open). The transform may be shared between
/// threads; each thread takes its own ``AEADOperation``.
public final class AEADTransform: @unchecked Sendable {
    public let algorithm: String
    public let nonceSize: Int
    public let tagSize: Int
    let socket: AlgSocket

    /// - Parameters:
    ///   - algorithm: the kernel's name, e.g. `gcm(aes)`.
    ///   - key: the raw key; copied into the kernel and not kept here.
    ///   - nonceSize: the IV length the algorithm takes (12 for GCM).
    ///   - tagSize: the authentication tag length.
    /// - Throws: ``AFAlgError`` (`.unavailable`, `.invalidArgument` for a bad key length).
    public init(algorithm: String = "gcm(aes)", key: UnsafeRawBufferPointer, nonceSize: Int = 12, tagSize: Int = 16) throws {
        self.algorithm = algorithm
        self.nonceSize = nonceSize
        self.tagSize = tagSize
        socket = try AlgSocket.transform(type: .aead, name: algorithm)
        do {
            try socket.setOption(.setKey, bytes: key, what: "ALG_SET_KEY")
        } catch let error as AFAlgError where error.errno == .invalidArgument {
            throw AFAlgError(.invalidArgument, "\(algorithm) rejected a \(key.count)-byte key", syscall: error.syscall, errno: error.errno)
        }
        try socket.setOption(.setAEADAuthSize, length: tagSize, what: "ALG_SET_AEAD_AUTHSIZE")
    }

    /// Keys the transform from a kernel keyring key (`user`, `logon`, `trusted` or `encrypted`),
    /// so the key never enters this process's memory.
    /// - Throws: ``AFAlgError`` with code `.unsupported` on kernels before 6.2.
    public init(algorithm: String = "gcm(aes)", keySerial: Int32, nonceSize: Int = 12, tagSize: Int = 16) throws {
        self.algorithm = algorithm
        self.nonceSize = nonceSize
        self.tagSize = tagSize
        socket = try AlgSocket.transform(type: .aead, name: algorithm)
        try socket.setKey(serial: keySerial)
        try socket.setOption(.setAEADAuthSize, length: tagSize, what: "ALG_SET_AEAD_AUTHSIZE")
    }

    /// A new operation socket for the calling thread.
    public func makeOperation() throws -> AEADOperation { try AEADOperation(transform: self) }
}

/// One AF_ALG operation socket for an ``AEADTransform``: not thread-safe, reused for every
/// message on its thread.
///
/// Each seal or open is exactly one `sendmsg` (operation, IV and AAD length as control messages;
/// AAD and input as data) and one `recvmsg` of exactly the output length, because the kernel
/// blocks forever on a larger receive and silently processes a prefix on a smaller one.
public final class AEADOperation {
    private let transform: AEADTransform
    private var socket: AlgSocket?
    /// The largest AAD + plaintext this socket can process in one operation.
    public private(set) var maxMessageSize: Int
    private let control: UnsafeMutableRawBufferPointer
    private var aadEcho: UnsafeMutableRawBufferPointer

    /// Buffer size kseal asks for: the unprivileged ceiling on stock kernels is 2 × 212992.
    static let requestedBufferSize = 1 << 20

    init(transform: AEADTransform) throws {
        self.transform = transform
        let controlSize = kseal_cmsg_space(4) * 2 + kseal_cmsg_space(4 + transform.nonceSize)
        control = .allocate(byteCount: controlSize, alignment: MemoryLayout<Int>.alignment)
        aadEcho = .allocate(byteCount: 256, alignment: 16)
        maxMessageSize = 0
        try reconnect()
    }

    deinit {
        control.deallocate()
        aadEcho.deallocate()
    }

    private func reconnect() throws {
        socket = nil
        let op = try transform.socket.accept()
        let buffers = op.raiseBuffers(to: Self.requestedBufferSize)
        maxMessageSize = Self.messageLimit(send: buffers.send, receive: buffers.receive, page: AlgSocket.pageSize,
                                           tagSize: transform.tagSize)
        socket = op
    }

    /// The largest AAD + plaintext one operation processes whole, from the socket's buffer space
    /// (both already rounded down to pages).
    ///
    /// Encrypt sends AAD+PT and receives AAD+PT+tag; decrypt sends AAD+CT+tag and receives AAD+PT.
    /// The send side may fill its space exactly. The receive side keeps one page free:
    /// `af_alg_get_rsgl` maps the caller's buffer in segments of at most 16 pages and stops as soon
    /// as less than a page of receive space is left (`af_alg_readable`), and the operation then
    /// runs over a prefix: a short seal, or an open that fails its tag and leaves input queued, so
    /// the next `sendmsg` is EINVAL. Where the last segment starts depends on the output buffer's
    /// offset in its page; measured on Debian's 7.2 with 16 bytes to spare (the old rule), outputs
    /// 0 to 48 bytes into a page failed and the others passed.
    static func messageLimit(send: Int, receive: Int, page: Int, tagSize: Int) -> Int {
        min(send, receive - page) - tagSize
    }

    /// Encrypts and authenticates.
    /// - Parameters:
    ///   - plaintext: the data to seal.
    ///   - nonce: exactly ``AEADTransform/nonceSize`` bytes; never reuse one under a key.
    ///   - aad: associated data, authenticated but not encrypted; must not be empty.
    ///   - output: receives ciphertext ‖ tag; at least `plaintext.count + tagSize` bytes.
    /// - Returns: the number of bytes written to `output`.
    /// - Throws: ``AFAlgError`` (`.messageTooLarge`, `.invalidArgument`, `.systemCall`).
    @discardableResult
    public func seal(_ plaintext: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                     into output: UnsafeMutableRawBufferPointer) throws -> Int {
        let outputCount = plaintext.count + transform.tagSize
        try check(nonce: nonce, aad: aad, messageSize: aad.count + plaintext.count, output: output, outputCount: outputCount)
        return try perform(.encrypt, input: plaintext, nonce: nonce, aad: aad, output: output, outputCount: outputCount)
    }

    /// Verifies and decrypts.
    /// - Parameters:
    ///   - sealed: ciphertext ‖ tag.
    ///   - output: receives the plaintext; at least `sealed.count - tagSize` bytes. It may be
    ///     `sealed`'s own memory (opened in place): `sendmsg` copies the input into the kernel
    ///     before `recvmsg` writes any output, and nothing is sent again once output is written.
    /// - Returns: the plaintext length.
    /// - Throws: ``AFAlgError`` with code `.authenticationFailed` when the tag does not verify.
    @discardableResult
    public func open(_ sealed: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                     into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard sealed.count >= transform.tagSize else {
            throw AFAlgError(.authenticationFailed, "sealed message of \(sealed.count) bytes is shorter than its \(transform.tagSize)-byte tag")
        }
        let outputCount = sealed.count - transform.tagSize
        try check(nonce: nonce, aad: aad, messageSize: aad.count + outputCount, output: output, outputCount: outputCount)
        return try perform(.decrypt, input: sealed, nonce: nonce, aad: aad, output: output, outputCount: outputCount)
    }

    private func check(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, messageSize: Int,
                       output: UnsafeMutableRawBufferPointer, outputCount: Int) throws {
        guard nonce.count == transform.nonceSize else {
            throw AFAlgError(.invalidArgument, "\(transform.algorithm) needs a \(transform.nonceSize)-byte nonce, got \(nonce.count)")
        }
        // A decrypt with no output at all makes recv(0) skip the tag check: forbid it at the root.
        guard !aad.isEmpty else { throw AFAlgError(.invalidArgument, "AF_ALG AEAD requires non-empty associated data") }
        guard output.count >= outputCount else {
            throw AFAlgError(.invalidArgument, "output buffer of \(output.count) bytes, \(outputCount) needed")
        }
        if socket == nil { try reconnect() }
        guard messageSize <= maxMessageSize else {
            throw AFAlgError(.messageTooLarge,
                             "AEAD message of \(messageSize) bytes (AAD + data) exceeds the \(maxMessageSize)-byte limit of one AF_ALG operation")
        }
        if aadEcho.count < aad.count {
            aadEcho.deallocate()
            aadEcho = .allocate(byteCount: aad.count, alignment: 16)
        }
    }

    private func perform(_ operation: AlgOperationType, input: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
                         aad: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer, outputCount: Int) throws -> Int {
        fillControl(operation: operation, nonce: nonce, aadCount: aad.count)
        var attempt = 0
        while true {
            attempt += 1
            guard let socket else { try reconnect(); continue }
            let sendCount = aad.count + input.count
            let sent = sendMessage(socket.descriptor, aad: aad, input: input)
            switch sent {
            case .success(sendCount): break
            case .success(let short):
                // A partial sendmsg queued an incomplete message the kernel would treat as whole:
                // the socket is poisoned. Nothing was produced yet, so start over once.
                self.socket = nil
                if attempt < 2 { continue }
                throw AFAlgError(.systemCall, "short AF_ALG sendmsg: \(short) of \(sendCount) bytes", syscall: "sendmsg")
            case .failure(let errno):
                self.socket = nil
                throw mapFailure("sendmsg", errno)
            }
            let expected = aad.count + outputCount
            switch receiveMessage(socket.descriptor, aadCount: aad.count, output: output, outputCount: outputCount) {
            case .success(expected): return outputCount
            case .success(let short):
                self.socket = nil
                throw AFAlgError(.systemCall, "short AF_ALG recvmsg: \(short) of \(expected) bytes", syscall: "recvmsg")
            case .failure(.badMessage):
                // The operation socket stays usable after EBADMSG (measured on 6.1).
                throw AFAlgError(.authenticationFailed, "authentication failed: the tag does not match the data, AAD, nonce or key",
                                 syscall: "recvmsg", errno: .badMessage)
            case .failure(let errno):
                self.socket = nil
                throw mapFailure("recvmsg", errno)
            }
        }
    }

    private func mapFailure(_ call: String, _ errno: Errno) -> AFAlgError {
        if errno == .invalidArgument {
            return AFAlgError(.invalidArgument, "\(transform.algorithm) rejected the operation (\(call): \(errno))", syscall: call, errno: errno)
        }
        return AFAlgError.syscall(call, errno, context: "\(transform.algorithm) operation failed")
    }

    /// Writes the three control messages: ALG_SET_OP, ALG_SET_IV (always, or the kernel silently
    /// reuses the previous IV) and ALG_SET_AEAD_ASSOCLEN.
    private func fillControl(operation: AlgOperationType, nonce: UnsafeRawBufferPointer, aadCount: Int) {
        control.initializeMemory(as: UInt8.self, repeating: 0)
        var message = msghdr()
        message.msg_control = control.baseAddress
        message.msg_controllen = control.count
        var header = kseal_cmsg_firsthdr(&message)!
        func put(_ type: AlgOption, _ length: Int, _ write: (UnsafeMutableRawPointer) -> Void) {
            header.pointee.cmsg_level = SocketConstants.solAlg
            header.pointee.cmsg_type = type.rawValue
            header.pointee.cmsg_len = kseal_cmsg_len(length)
            write(UnsafeMutableRawPointer(kseal_cmsg_data(header)))
            if let next = kseal_cmsg_nxthdr(&message, header) { header = next }
        }
        put(.setOperation, 4) { $0.storeBytes(of: operation.rawValue, as: UInt32.self) }
        put(.setIV, 4 + nonce.count) { data in
            data.storeBytes(of: UInt32(nonce.count), as: UInt32.self)
            (data + 4).copyMemory(from: nonce.baseAddress!, byteCount: nonce.count)
        }
        put(.setAEADAssociatedLength, 4) { $0.storeBytes(of: UInt32(aadCount), as: UInt32.self) }
    }

    private func sendMessage(_ fd: Int32, aad: UnsafeRawBufferPointer, input: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        var iov = (iovec(iov_base: UnsafeMutableRawPointer(mutating: aad.baseAddress), iov_len: aad.count),
                   iovec(iov_base: UnsafeMutableRawPointer(mutating: input.baseAddress), iov_len: input.count))
        return withUnsafeMutableBytes(of: &iov) { iovs in
            var message = msghdr()
            message.msg_iov = iovs.baseAddress!.assumingMemoryBound(to: iovec.self)
            message.msg_iovlen = input.isEmpty ? 1 : 2
            message.msg_control = control.baseAddress
            message.msg_controllen = control.count
            return system_sendmsg(fd, &message, 0)
        }
    }

    /// Receives the kernel's copy of the AAD into scratch space and the result straight into
    /// `output`, so no extra copy of the data is made.
    private func receiveMessage(_ fd: Int32, aadCount: Int, output: UnsafeMutableRawBufferPointer, outputCount: Int) -> Result<Int, Errno> {
        var iov = (iovec(iov_base: aadEcho.baseAddress, iov_len: aadCount),
                   iovec(iov_base: output.baseAddress, iov_len: outputCount))
        return withUnsafeMutableBytes(of: &iov) { iovs in
            var message = msghdr()
            message.msg_iov = iovs.baseAddress!.assumingMemoryBound(to: iovec.self)
            message.msg_iovlen = outputCount == 0 ? 1 : 2
            return system_recvmsg(fd, &message, 0)
        }
    }
}

extension AEADOperation {
    /// Seals into a new array (ciphertext ‖ tag). Convenient for tests and small messages.
    public func seal(_ plaintext: [UInt8], nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + transform.tagSize)
        try plaintext.withUnsafeBytes { p in
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try output.withUnsafeMutableBytes { o in _ = try seal(p, nonce: n, aad: a, into: o) }
                }
            }
        }
        return output
    }

    /// Opens ciphertext ‖ tag into a new array.
    public func open(_ sealed: [UInt8], nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: max(sealed.count - transform.tagSize, 0))
        try sealed.withUnsafeBytes { s in
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try output.withUnsafeMutableBytes { o in _ = try open(s, nonce: n, aad: a, into: o) }
                }
            }
        }
        return output
    }
}
