#if UserspaceCrypto
import Crypto
import FoundationEssentials

/// swift-crypto (BoringSSL) in this process: the fallback wherever the kernel path is unavailable.
public final class UserspaceBackend: CryptoBackend {
    public var kind: BackendKind { .userspace }
    public init() {}

    public func aes256GCM(key: [UInt8]) throws -> any AEADKey {
        try AEADArguments.checkKey(key)
        return UserspaceAEADKey(key: SymmetricKey(data: key))
    }

    public func makeSHA256() throws -> any DigestContext { UserspaceSHA256() }

    public func makeHMACSHA256(key: [UInt8]) throws -> any DigestContext { UserspaceHMAC(key: SymmetricKey(data: key)) }
}

// SymmetricKey is immutable; swift-crypto 3 just does not declare it Sendable.
final class UserspaceAEADKey: AEADKey, @unchecked Sendable {
    let key: SymmetricKey
    init(key: SymmetricKey) { self.key = key }
    func makeContext() throws -> any AEADContext { UserspaceAEADContext(key: key) }
}

final class UserspaceAEADContext: AEADContext {
    private let key: SymmetricKey
    init(key: SymmetricKey) { self.key = key }

    /// No socket buffer bounds this backend; the format bounds frame sizes itself.
    var maxMessageSize: Int { Int(Int32.max) }

    func seal(_ plaintext: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = plaintext.count + AES256GCM.tagSize
        try AEADArguments.check(nonce: nonce, aad: aad, messageSize: aad.count + plaintext.count, maxMessageSize: maxMessageSize,
                                output: output, outputCount: count)
        let box = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(data: nonce), authenticating: aad)
        box.ciphertext.withUnsafeBytes { output.copyMemory(from: $0) }
        box.tag.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: output[plaintext.count...]).copyMemory(from: $0) }
        return count
    }

    func open(_ sealed: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard sealed.count >= AES256GCM.tagSize else {
            throw CryptoError(.authenticationFailed, "sealed message of \(sealed.count) bytes is shorter than its tag")
        }
        let count = sealed.count - AES256GCM.tagSize
        try AEADArguments.check(nonce: nonce, aad: aad, messageSize: aad.count + count, maxMessageSize: maxMessageSize,
                                output: output, outputCount: count)
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce),
                                            ciphertext: UnsafeRawBufferPointer(rebasing: sealed[..<count]),
                                            tag: UnsafeRawBufferPointer(rebasing: sealed[count...]))
            let plaintext = try AES.GCM.open(box, using: key, authenticating: aad)
            plaintext.withUnsafeBytes { output.copyMemory(from: $0) }
            return count
        } catch {
            // Arguments were checked above, so any failure here is the tag: BoringSSL reports it as
            // underlyingCoreCryptoError on Linux, CryptoKit as authenticationFailure.
            throw CryptoError(.authenticationFailed, "authentication failed: the tag does not match the data, AAD, nonce or key")
        }
    }
}

final class UserspaceSHA256: DigestContext {
    private var state = SHA256()
    var digestSize: Int { 32 }

    func digest(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        state = SHA256()
        SHA256.hash(data: data).withUnsafeBytes { output.copyMemory(from: $0) }
    }

    func update(_ data: UnsafeRawBufferPointer) throws { state.update(bufferPointer: data) }

    func finalize(into output: UnsafeMutableRawBufferPointer) throws {
        state.finalize().withUnsafeBytes { output.copyMemory(from: $0) }
        state = SHA256()
    }
}

final class UserspaceHMAC: DigestContext {
    private let key: SymmetricKey
    private var state: HMAC<SHA256>
    var digestSize: Int { 32 }

    init(key: SymmetricKey) {
        self.key = key
        state = HMAC<SHA256>(key: key)
    }

    func digest(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        state = HMAC<SHA256>(key: key)
        HMAC<SHA256>.authenticationCode(for: data, using: key).withUnsafeBytes { output.copyMemory(from: $0) }
    }

    func update(_ data: UnsafeRawBufferPointer) throws { state.update(data: data) }

    func finalize(into output: UnsafeMutableRawBufferPointer) throws {
        state.finalize().withUnsafeBytes { output.copyMemory(from: $0) }
        state = HMAC<SHA256>(key: key)
    }
}
#endif
