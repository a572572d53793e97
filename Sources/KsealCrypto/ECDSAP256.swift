import Crypto
import FoundationEssentials
import SwiftASN1
import X509

/// ECDSA over P-256 with SHA-256: signatures a device's kernel can check itself (keyctl
/// `pkey_verify` on an `asymmetric` key made from an X.509 certificate; Linux 6.12 and 7.x do,
/// Debian's 6.1 and user-mode-linux 6.1 cannot), with swift-crypto as the user-space twin.
public enum ECDSAP256 {
    /// An uncompressed SEC1 point; a signature as r ‖ s.
    public static let publicKeySize = 65, signatureSize = 64, privateKeySize = 32

    public final class PrivateKey: @unchecked Sendable {
        private let key: P256.Signing.PrivateKey

        public init(raw: [UInt8]) throws {
            do { key = try P256.Signing.PrivateKey(rawRepresentation: raw) } catch {
                throw CryptoError(.invalidArgument, "not a P-256 private key: \(error)")
            }
        }

        private init(_ key: P256.Signing.PrivateKey) { self.key = key }
        public static func generate() -> PrivateKey { PrivateKey(P256.Signing.PrivateKey()) }

        public var raw: [UInt8] { Array(key.rawRepresentation) }
        public var publicKey: [UInt8] { Array(key.publicKey.x963Representation) }

        /// The signature (r ‖ s) of SHA-256(`message`); randomized, as ECDSA is.
        public func sign(_ message: [UInt8]) throws -> [UInt8] {
            do { return Array(try key.signature(for: message).rawRepresentation) } catch {
                throw CryptoError(.failure, "ECDSA signing failed: \(error)")
            }
        }

        /// A self-signed X.509 certificate of the public key (DER), which is how a kernel takes a
        /// public key into a keyring (its `asymmetric` key type parses X.509).
        public func certificate(commonName: String) throws -> [UInt8] {
            do {
                let issuer = Certificate.PrivateKey(key)
                let name = try DistinguishedName { CommonName(commonName) }
                let now = Date()
                let certificate = try Certificate(
                    version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: issuer.publicKey, notValidBefore: now,
                    notValidAfter: now.addingTimeInterval(100 * 365 * 86_400), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                    extensions: try Certificate.Extensions { Critical(KeyUsage(digitalSignature: true)) }, issuerPrivateKey: issuer)
                var serializer = DER.Serializer()
                try serializer.serialize(certificate)
                return serializer.serializedBytes
            } catch {
                throw CryptoError(.failure, "cannot make the certificate: \(error)")
            }
        }
    }

    /// The P-256 public key a certificate holds.
    /// - Throws: ``CryptoError`` `.invalidArgument` for anything else.
    public static func publicKey(ofCertificate der: [UInt8]) throws -> [UInt8] {
        guard let certificate = try? Certificate(derEncoded: der), let key = P256.Signing.PublicKey(certificate.publicKey) else {
            throw CryptoError(.invalidArgument, "not an X.509 certificate of a P-256 key")
        }
        return Array(key.x963Representation)
    }

    /// Whether `signature` (r ‖ s) is `publicKey`'s over SHA-256(`message`), in user space.
    public static func isValid(signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard let key = try? P256.Signing.PublicKey(x963Representation: publicKey),
              let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
        return key.isValidSignature(parsed, for: message)
    }

    /// r ‖ s as the DER `Ecdsa-Sig-Value` the kernel's x962 encoding takes.
    static func derSignature(_ raw: [UInt8]) -> [UInt8]? {
        (try? P256.Signing.ECDSASignature(rawRepresentation: raw)).map { Array($0.derRepresentation) }
    }
}
