#if UserspaceCrypto
import Crypto
#endif

/// Ed25519 signatures (RFC 8032), in user space (swift-crypto): archives are signed on a build
/// host and the signature checked on each device, which holds only public keys.
///
/// Why Ed25519: 32-byte keys and 64-byte signatures; deterministic signing (no per-signature
/// random nonce that a weak generator could leak the key through); one verification costs tens
/// of microseconds, against milliseconds for reading any archive. The kernel verifies no
/// Ed25519 through AF_ALG or keyctl, so this is the one user-space step on the kernel path.
public enum Ed25519 {
    public static let seedSize = 32
    public static let publicKeySize = 32
    public static let signatureSize = 64

    /// Whether `signature` is `publicKey`'s signature of `message`. A malformed key or signature
    /// is simply not valid.
    /// - Throws: ``CryptoError`` `.unavailable` in the kernel-only build: no kernel checks Ed25519.
    public static func isValid(signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) throws -> Bool {
#if UserspaceCrypto
        guard publicKey.count == publicKeySize, signature.count == signatureSize,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
#else
        throw CryptoError(.unavailable, "Ed25519 signatures are checked in user space, and this kseal is the kernel-only build; sign with a P-256 key, which the kernel checks")
#endif
    }
}

#if UserspaceCrypto
extension Ed25519 {
    /// A signing key: its 32-byte seed (RFC 8032's private key).
    public final class PrivateKey: @unchecked Sendable {
        private let key: Curve25519.Signing.PrivateKey

        /// - Throws: ``CryptoError`` `.invalidArgument` unless `seed` is 32 bytes.
        public init(seed: [UInt8]) throws {
            guard seed.count == Ed25519.seedSize else { throw CryptoError(.invalidArgument, "an Ed25519 private key is \(Ed25519.seedSize) bytes, not \(seed.count)") }
            do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed) } catch {
                throw CryptoError(.invalidArgument, "not an Ed25519 private key: \(error)")
            }
        }

        /// A new key from the system's random source.
        public static func generate() -> PrivateKey { PrivateKey(Curve25519.Signing.PrivateKey()) }

        private init(_ key: Curve25519.Signing.PrivateKey) { self.key = key }

        public var seed: [UInt8] { Array(key.rawRepresentation) }
        public var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }

        /// The signature of `message` (deterministic: the same message gives the same bytes).
        public func sign(_ message: [UInt8]) throws -> [UInt8] {
            do { return Array(try key.signature(for: message)) } catch {
                throw CryptoError(.failure, "Ed25519 signing failed: \(error)")
            }
        }
    }
}
#endif
