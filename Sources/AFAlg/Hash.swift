#if canImport(Glibc)
import Glibc
#endif

/// A hash or keyed hash (`hmac(sha256)`) in the kernel: one AF_ALG transform socket.
///
/// Shareable between threads; each thread takes its own ``HashOperation``.
public final class HashTransform: @unchecked Sendable {
    public let algorithm: String
    public let digestSize: Int
    let socket: AlgSocket

    /// - Parameters:
    ///   - algorithm: the kernel's name, e.g. `sha256` or `hmac(sha256)`.
    ///   - digestSize: the digest length in bytes.
    ///   - key: the MAC key for keyed hashes, set on the transform before any accept.
    /// - Throws: ``AFAlgError`` (`.unavailable` when the kernel lacks the algorithm).
    public init(algorithm: String, digestSize: Int, key: UnsafeRawBufferPointer? = nil) throws {
        self.algorithm = algorithm
        self.digestSize = digestSize
        socket = try AlgSocket.transform(type: .hash, name: algorithm)
        if let key { try socket.setOption(.setKey, bytes: key, what: "ALG_SET_KEY") }
    }

    /// A keyed hash (`hmac(sha256)`) keyed from a kernel keyring key, which never enters this
    /// process's memory.
    /// - Throws: ``AFAlgError`` with code `.unsupported` on kernels before 6.2.
    public init(algorithm: String, digestSize: Int, keySerial: Int32) throws {
        self.algorithm = algorithm
        self.digestSize = digestSize
        socket = try AlgSocket.transform(type: .hash, name: algorithm)
        try socket.setKey(serial: keySerial)
    }

    /// A new operation socket for the calling thread.
    public func makeOperation() throws -> HashOperation { try HashOperation(transform: self) }
}

/// One AF_ALG hash operation socket: not thread-safe, reused for every digest on its thread.
///
/// A one-shot digest is one `send` and one `recv`; a streamed digest is one `send(MSG_MORE)` per
/// piece and one `recv`, which finalizes.
public final class HashOperation {
    private let transform: HashTransform
    private var socket: AlgSocket?

    init(transform: HashTransform) throws {
        self.transform = transform
        socket = try transform.socket.accept()
    }

    private func liveSocket() throws -> AlgSocket {
        if let socket { return socket }
        let fresh = try transform.socket.accept()
        socket = fresh
        return fresh
    }

    /// Digests `data` in one operation.
    /// - Parameters:
    ///   - output: at least ``HashTransform/digestSize`` bytes.
    /// - Throws: ``AFAlgError``; a streamed digest in progress is abandoned.
    public func hash(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        var attempt = 0
        while true {
            attempt += 1
            let socket = try liveSocket()
            switch system_send(socket.descriptor, data, 0) {
            case .success(data.count): return try finish(socket, into: output)
            case .success(let short):
                self.socket = nil
                if attempt < 2 { continue }
                throw AFAlgError(.systemCall, "short AF_ALG hash send: \(short) of \(data.count) bytes", syscall: "send")
            case .failure(let errno):
                self.socket = nil
                throw AFAlgError.syscall("send", errno, context: "\(transform.algorithm) failed")
            }
        }
    }

    /// Adds `data` to the digest in progress (or starts one).
    public func update(_ data: UnsafeRawBufferPointer) throws {
        let socket = try liveSocket()
        switch system_send(socket.descriptor, data, SocketConstants.msgMore) {
        case .success(data.count): return
        case .success(let short):
            self.socket = nil
                throw AFAlgError(.systemCall, "short AF_ALG hash send: \(short) of \(data.count) bytes", syscall: "send")
        case .failure(let errno):
            self.socket = nil
                throw AFAlgError.syscall("send", errno, context: "\(transform.algorithm) failed")
        }
    }

    /// Finishes the digest in progress; with no ``update(_:)`` before it, the digest of nothing.
    public func finalize(into output: UnsafeMutableRawBufferPointer) throws {
        try finish(try liveSocket(), into: output)
    }

    private func finish(_ socket: AlgSocket, into output: UnsafeMutableRawBufferPointer) throws {
        let size = transform.digestSize
        guard output.count >= size else {
            throw AFAlgError(.invalidArgument, "digest buffer of \(output.count) bytes, \(size) needed")
        }
        switch system_recv(socket.descriptor, UnsafeMutableRawBufferPointer(rebasing: output[0..<size]), 0) {
        case .success(size): return
        case .success(let short):
            self.socket = nil
            throw AFAlgError(.systemCall, "short AF_ALG digest: \(short) of \(size) bytes", syscall: "recv")
        case .failure(let errno):
            self.socket = nil
            throw AFAlgError.syscall("recv", errno, context: "\(transform.algorithm) failed")
        }
    }
}

extension HashOperation {
    /// The digest of `data` as a new array.
    public func hash(_ data: [UInt8]) throws -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: transform.digestSize)
        try data.withUnsafeBytes { d in try digest.withUnsafeMutableBytes { try hash(d, into: $0) } }
        return digest
    }
}
