import AFAlg

/// The kernel crypto API through AF_ALG: `gcm(aes)`, `sha256` and `hmac(sha256)`.
public final class KernelBackend: CryptoBackend {
    public var kind: BackendKind { .kernel }
    private let sha256Transform: HashTransform

    /// Opens the backend without probing; prefer ``CryptoBackends/select(_:)``.
    /// - Throws: ``CryptoError`` (`.unavailable` with the reason).
    public init() throws {
        sha256Transform = try translatingKernelErrors { try HashTransform(algorithm: "sha256", digestSize: 32) }
    }

    public func aes256GCM(key: [UInt8]) throws -> any AEADKey {
        try AEADArguments.checkKey(key)
        return try translatingKernelErrors {
            try key.withUnsafeBytes { try KernelAEADKey(transform: AEADTransform(algorithm: "gcm(aes)", key: $0)) }
        }
    }

    /// Keys AES-256-GCM from a kernel keyring key, so the key never enters user memory.
    /// - Throws: ``CryptoError`` with code `.unsupported` before Linux 6.2.
    public func aes256GCM(keySerial: Int32) throws -> any AEADKey {
        try translatingKernelErrors { try KernelAEADKey(transform: AEADTransform(algorithm: "gcm(aes)", keySerial: keySerial)) }
    }

    public func makeSHA256() throws -> any DigestContext {
        try translatingKernelErrors { try KernelDigest(sha256Transform.makeOperation(), size: 32) }
    }

    public func makeHMACSHA256(key: [UInt8]) throws -> any DigestContext {
        try translatingKernelErrors {
            let transform = try key.withUnsafeBytes { try HashTransform(algorithm: "hmac(sha256)", digestSize: 32, key: $0) }
            return try KernelDigest(transform.makeOperation(), size: 32)
        }
    }
}

final class KernelAEADKey: AEADKey {
    let transform: AEADTransform
    init(transform: AEADTransform) { self.transform = transform }
    func makeContext() throws -> any AEADContext {
        try translatingKernelErrors { KernelAEADContext(try transform.makeOperation()) }
    }
}

final class KernelAEADContext: AEADContext {
    private let operation: AEADOperation
    init(_ operation: AEADOperation) { self.operation = operation }

    var maxMessageSize: Int { operation.maxMessageSize }

    func seal(_ plaintext: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) throws -> Int {
        try AEADArguments.check(nonce: nonce, aad: aad, messageSize: aad.count + plaintext.count, maxMessageSize: maxMessageSize,
                                output: output, outputCount: plaintext.count + AES256GCM.tagSize)
        return try translatingKernelErrors { try operation.seal(plaintext, nonce: nonce, aad: aad, into: output) }
    }

    func open(_ sealed: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard sealed.count >= AES256GCM.tagSize else {
            throw CryptoError(.authenticationFailed, "sealed message of \(sealed.count) bytes is shorter than its tag")
        }
        try AEADArguments.check(nonce: nonce, aad: aad, messageSize: aad.count + sealed.count - AES256GCM.tagSize,
                                maxMessageSize: maxMessageSize, output: output, outputCount: sealed.count - AES256GCM.tagSize)
        return try translatingKernelErrors { try operation.open(sealed, nonce: nonce, aad: aad, into: output) }
    }
}

final class KernelDigest: DigestContext {
    private let operation: HashOperation
    let digestSize: Int
    init(_ operation: HashOperation, size: Int) {
        self.operation = operation
        digestSize = size
    }

    func digest(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        try translatingKernelErrors { try operation.hash(data, into: output) }
    }

    func update(_ data: UnsafeRawBufferPointer) throws {
        try translatingKernelErrors { try operation.update(data) }
    }

    func finalize(into output: UnsafeMutableRawBufferPointer) throws {
        try translatingKernelErrors { try operation.finalize(into: output) }
    }
}
