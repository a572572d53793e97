#if UserspaceCrypto
import Crypto
import FoundationEssentials
import SwiftASN1
import X509
#endif

/// ECDSA over P-256 with SHA-256: signatures a device's kernel can check itself (keyctl
/// `pkey_verify` on an `asymmetric` key made from an X.509 certificate; Linux 6.12 and 7.x do,
/// Debian's 6.1 and user-mode-linux 6.1 cannot), with swift-crypto as the user-space twin.
///
/// Reading a certificate and writing the kernel's DER signature are done here by hand, in both
/// builds, so the kernel-only build checks signatures with no X.509 or crypto library at all.
public enum ECDSAP256 {
    /// An uncompressed SEC1 point; a signature as r ‖ s.
    public static let publicKeySize = 65, signatureSize = 64, privateKeySize = 32

    /// The P-256 public key a certificate holds: the subjectPublicKey of its
    /// SubjectPublicKeyInfo, whose algorithm must be id-ecPublicKey on prime256v1 (RFC 5480).
    /// The certificate's own signature and dates are not checked: it is how a trusted key is
    /// written down, and the kernel that takes it checks its self-signature.
    /// - Throws: ``CryptoError`` `.invalidArgument` for anything else.
    public static func publicKey(ofCertificate der: [UInt8]) throws -> [UInt8] {
        let wrong = CryptoError(.invalidArgument, "not an X.509 certificate of a P-256 key")
        var certificate = DERReader(der)
        guard var outer = certificate.enter(0x30), var tbs = outer.enter(0x30) else { throw wrong }
        if tbs.peekTag == 0xA0 { _ = tbs.read(0xA0) }  // [0] version
        for tag: UInt8 in [0x02, 0x30, 0x30, 0x30, 0x30] {  // serial, signature, issuer, validity, subject
            guard tbs.read(tag) != nil else { throw wrong }
        }
        guard var info = tbs.enter(0x30), var algorithm = info.enter(0x30),
              algorithm.read(0x06) == idECPublicKey, algorithm.read(0x06) == prime256v1,
              let bits = info.read(0x03), bits.count == publicKeySize + 1, bits[0] == 0, bits[1] == 4 else { throw wrong }
        return Array(bits.dropFirst())
    }

    /// r ‖ s as the DER `Ecdsa-Sig-Value` (SEQUENCE of two INTEGERs) the kernel's x962 encoding takes.
    static func derSignature(_ raw: [UInt8]) -> [UInt8]? {
        guard raw.count == signatureSize else { return nil }
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty || value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(raw[0..<32]) + integer(raw[32..<64])
        return [0x30, UInt8(body.count)] + body
    }

    static let idECPublicKey: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]  // 1.2.840.10045.2.1
    static let prime256v1: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]  // 1.2.840.10045.3.1.7
}

/// Just enough DER (X.690) to walk a certificate to its key: definite lengths, one-byte tags.
struct DERReader {
    private let bytes: [UInt8]
    private var offset: Int
    private let end: Int

    init(_ bytes: [UInt8]) { self.init(bytes, 0, bytes.count) }
    private init(_ bytes: [UInt8], _ offset: Int, _ end: Int) { self.bytes = bytes; self.offset = offset; self.end = end }

    var peekTag: UInt8? { offset < end ? bytes[offset] : nil }

    /// The contents of the next element if its tag is `tag`, advancing past it.
    mutating func read(_ tag: UInt8) -> [UInt8]? {
        guard let (start, length) = header(tag) else { return nil }
        offset = start + length
        return Array(bytes[start..<(start + length)])
    }

    /// A reader over the contents of the next element if its tag is `tag`, advancing past it.
    mutating func enter(_ tag: UInt8) -> DERReader? {
        guard let (start, length) = header(tag) else { return nil }
        offset = start + length
        return DERReader(bytes, start, start + length)
    }

    private func header(_ tag: UInt8) -> (Int, Int)? {
        guard offset + 2 <= end, bytes[offset] == tag else { return nil }
        var position = offset + 1
        var length = Int(bytes[position])
        position += 1
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard (1...3).contains(count), position + count <= end else { return nil }
            length = bytes[position..<(position + count)].reduce(0) { $0 << 8 | Int($1) }
            position += count
        }
        guard length <= end - position else { return nil }
        return (position, length)
    }
}

#if UserspaceCrypto
extension ECDSAP256 {
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

    /// Whether `signature` (r ‖ s) is `publicKey`'s over SHA-256(`message`), in user space.
    public static func isValid(signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard let key = try? P256.Signing.PublicKey(x963Representation: publicKey),
              let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
        return key.isValidSignature(parsed, for: message)
    }
}
#endif
