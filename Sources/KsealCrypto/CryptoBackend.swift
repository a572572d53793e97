/// Which implementation does the cryptography.
public enum BackendKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The kernel crypto API through AF_ALG sockets.
    case kernel
    /// swift-crypto (BoringSSL) in this process.
    case userspace

    public var description: String { rawValue }
}

/// AES-256-GCM parameters, fixed by kseal.
public enum AES256GCM {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16
}

/// The primitives kseal needs, with one implementation per ``BackendKind``.
///
/// A backend is chosen once (``CryptoBackends/select(_:)``) and passed down; nothing below the
/// choice knows which one runs. Both produce identical bytes and throw the same ``CryptoError`` codes.
public protocol CryptoBackend: Sendable {
    var kind: BackendKind { get }

    /// Keys AES-256-GCM. The key object may be shared between threads; each thread makes its own
    /// context from it.
    /// - Throws: ``CryptoError`` (`.invalidArgument` for a key that is not 32 bytes).
    func aes256GCM(key: [UInt8]) throws -> any AEADKey

    /// A SHA-256 context for the calling thread.
    func makeSHA256() throws -> any DigestContext

    /// An HMAC-SHA256 context keyed with `key`, for the calling thread.
    func makeHMACSHA256(key: [UInt8]) throws -> any DigestContext
}

/// An AEAD key, shareable between threads.
public protocol AEADKey: Sendable {
    /// A context for the calling thread (on the kernel backend, one operation socket).
    func makeContext() throws -> any AEADContext
}

/// Seals and opens messages on one thread.
public protocol AEADContext: AnyObject {
    /// The largest AAD + plaintext one operation accepts.
    var maxMessageSize: Int { get }

    /// Encrypts `plaintext`, writing ciphertext ‖ tag to `output`.
    /// - Parameters:
    ///   - nonce: ``AES256GCM/nonceSize`` bytes, never reused under one key.
    ///   - aad: associated data; must not be empty.
    ///   - output: at least `plaintext.count + AES256GCM.tagSize` bytes.
    /// - Returns: bytes written.
    /// - Throws: ``CryptoError``.
    func seal(_ plaintext: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) throws -> Int

    /// Verifies and decrypts ciphertext ‖ tag into `output`, which may start at `sealed`'s own
    /// first byte (opened in place) but must not overlap it otherwise. On failure `output` holds
    /// nothing meaningful.
    /// - Returns: the plaintext length.
    /// - Throws: ``CryptoError`` with code `.authenticationFailed` when the tag does not verify.
    func open(_ sealed: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A hash or MAC on one thread: one-shot or streamed.
public protocol DigestContext: AnyObject {
    var digestSize: Int { get }
    /// The digest of `data` alone; abandons any streamed digest in progress.
    func digest(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws
    /// Adds `data` to the streamed digest.
    func update(_ data: UnsafeRawBufferPointer) throws
    /// Finishes the streamed digest and starts afresh.
    func finalize(into output: UnsafeMutableRawBufferPointer) throws
}

extension AEADContext {
    /// Seals into a new array (ciphertext ‖ tag).
    public func seal(_ plaintext: [UInt8], nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + AES256GCM.tagSize)
        _ = try plaintext.withUnsafeBytes { p in
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in try output.withUnsafeMutableBytes { try seal(p, nonce: n, aad: a, into: $0) } }
            }
        }
        return output
    }

    /// Opens ciphertext ‖ tag into a new array.
    public func open(_ sealed: [UInt8], nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: max(sealed.count - AES256GCM.tagSize, 0))
        _ = try sealed.withUnsafeBytes { s in
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in try output.withUnsafeMutableBytes { try open(s, nonce: n, aad: a, into: $0) } }
            }
        }
        return output
    }
}

extension DigestContext {
    /// The digest of `data` as a new array.
    public func digest(_ data: [UInt8]) throws -> [UInt8] {
        try data.withUnsafeBytes { try digest($0) }
    }

    /// The digest of `data` as a new array.
    public func digest(_ data: UnsafeRawBufferPointer) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: digestSize)
        try output.withUnsafeMutableBytes { try digest(data, into: $0) }
        return output
    }

    /// Adds `data` to the streamed digest.
    public func update(_ data: [UInt8]) throws {
        try data.withUnsafeBytes { try update($0) }
    }

    /// Finishes the streamed digest into a new array.
    public func finalize() throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: digestSize)
        try output.withUnsafeMutableBytes { try finalize(into: $0) }
        return output
    }
}

/// Argument checks shared by both backends, so both refuse the same inputs with the same codes.
enum AEADArguments {
    static func check(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, messageSize: Int, maxMessageSize: Int,
                      output: UnsafeMutableRawBufferPointer, outputCount: Int) throws {
        guard nonce.count == AES256GCM.nonceSize else {
            throw CryptoError(.invalidArgument, "AES-256-GCM needs a \(AES256GCM.nonceSize)-byte nonce, got \(nonce.count)")
        }
        guard !aad.isEmpty else { throw CryptoError(.invalidArgument, "AES-256-GCM in kseal requires non-empty associated data") }
        guard output.count >= outputCount else {
            throw CryptoError(.invalidArgument, "output buffer of \(output.count) bytes, \(outputCount) needed")
        }
        guard messageSize <= maxMessageSize else {
            throw CryptoError(.messageTooLarge, "AEAD message of \(messageSize) bytes (AAD + data) exceeds the \(maxMessageSize)-byte limit of one operation")
        }
    }

    static func checkKey(_ key: [UInt8]) throws {
        guard key.count == AES256GCM.keySize else {
            throw CryptoError(.invalidArgument, "AES-256-GCM needs a \(AES256GCM.keySize)-byte key, got \(key.count)")
        }
    }
}
