#if canImport(Glibc)
import Glibc
#endif
import KsealCrypto

/// The signature algorithms of the signature record (spec §4.4).
public enum SignatureAlgorithm: UInt16, Sendable, CaseIterable {
    /// Ed25519 (RFC 8032), checked in user space.
    case ed25519 = 1
    /// ECDSA P-256 with SHA-256, checked by the kernel where it can (Linux 6.12 and later).
    case ecdsaP256 = 2

    /// The name in key files and messages.
    public var name: String { self == .ed25519 ? "ed25519" : "p256" }
    var publicKeySize: Int { self == .ed25519 ? Ed25519.publicKeySize : ECDSAP256.publicKeySize }
    static let signatureSize = 64
}

/// A public signing key as a device trusts it (spec §4.4, §11): one line of text,
/// `kseal-public-key-ed25519 BASE64(key)` or `kseal-public-key-p256 BASE64(X.509 certificate)`
/// (`NAME.pub`); the certificate is how a kernel takes a P-256 key into a keyring.
public struct PublicSigningKey: Hashable, Sendable, CustomStringConvertible {
    public let algorithm: SignatureAlgorithm
    /// The raw public key: 32 bytes (Ed25519), or a 65-byte uncompressed point (P-256).
    public let bytes: [UInt8]
    /// P-256 from a `.pub` file: the self-signed certificate of `bytes`.
    public let certificate: [UInt8]?

    public init(algorithm: SignatureAlgorithm = .ed25519, bytes: [UInt8], certificate: [UInt8]? = nil) throws {
        guard bytes.count == algorithm.publicKeySize else { throw ArchiveError(.usage, "a \(algorithm.name) public key is \(algorithm.publicKeySize) bytes, not \(bytes.count)") }
        self.algorithm = algorithm
        self.bytes = bytes
        self.certificate = certificate
    }

    public static func == (a: Self, b: Self) -> Bool { a.algorithm == b.algorithm && a.bytes == b.bytes }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(algorithm)
        hasher.combine(bytes)
    }

    /// How kseal names the key in messages and JSON: `ed25519:BASE64(key)`, `p256:BASE64(x)`.
    public var description: String { "\(algorithm.name):" + Base64.encode(algorithm == .ed25519 ? bytes : Array(bytes[1..<33])) }

    static func fileTag(_ algorithm: SignatureAlgorithm) -> String { "kseal-public-key-\(algorithm.name)" }

    /// The public key file's text (a P-256 key needs its certificate).
    public var fileText: String {
        "\(Self.fileTag(algorithm)) \(Base64.encode(algorithm == .ed25519 ? bytes : certificate ?? []))\n"
    }

    /// Reads a public key file.
    /// - Throws: ``ArchiveError`` `.usage` when it is missing, unreadable or not a kseal public key.
    public static func read(path: String) throws -> PublicSigningKey {
        let text = try KeyText.read(path, what: "public key")
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        let wrong = ArchiveError(.usage, "\(path) is not a kseal public key (a line 'kseal-public-key-p256 BASE64' or '-ed25519', as 'kseal keygen --signing' writes)")
        guard fields.count >= 2, let algorithm = SignatureAlgorithm.allCases.first(where: { fileTag($0) == fields[0] }),
              let payload = Base64.decode(String(fields[1])) else { throw wrong }
        if algorithm == .ed25519 { return try PublicSigningKey(algorithm: algorithm, bytes: payload) }
        guard let key = try? ECDSAP256.publicKey(ofCertificate: payload) else { throw wrong }
        return try PublicSigningKey(algorithm: algorithm, bytes: key, certificate: payload)
    }
}

#if UserspaceCrypto
/// A private signing key, kept in a one-line text file with mode 0600,
/// `kseal-signing-key-p256 BASE64` (the 32-byte scalar) or `kseal-signing-key-ed25519 BASE64`
/// (the 32-byte RFC 8032 private key); the public key goes beside it as `NAME.pub`.
public final class SigningKey: @unchecked Sendable {
    private enum Key {
        case ed25519(Ed25519.PrivateKey)
        case ecdsaP256(ECDSAP256.PrivateKey)
    }
    private let key: Key
    public let publicKey: PublicSigningKey
    public var algorithm: SignatureAlgorithm { publicKey.algorithm }

    private init(_ key: Key) throws {
        self.key = key
        switch key {
        case .ed25519(let k): publicKey = try PublicSigningKey(algorithm: .ed25519, bytes: k.publicKey)
        case .ecdsaP256(let k): publicKey = try PublicSigningKey(algorithm: .ecdsaP256, bytes: k.publicKey)
        }
    }

    public static func generate(_ algorithm: SignatureAlgorithm = .ecdsaP256) throws -> SigningKey {
        try SigningKey(algorithm == .ed25519 ? .ed25519(Ed25519.PrivateKey.generate()) : .ecdsaP256(ECDSAP256.PrivateKey.generate()))
    }

    /// A fixed key, for test vectors only.
    public convenience init(seed: [UInt8], algorithm: SignatureAlgorithm = .ed25519) throws {
        do {
            try self.init(algorithm == .ed25519 ? .ed25519(try Ed25519.PrivateKey(seed: seed)) : .ecdsaP256(try ECDSAP256.PrivateKey(raw: seed)))
        } catch let error as CryptoError {
            throw ArchiveError(.usage, error.message)
        }
    }

    static func fileTag(_ algorithm: SignatureAlgorithm) -> String { "kseal-signing-key-\(algorithm.name)" }

    /// Reads a signing key file.
    /// - Parameter warn: told when the file is readable by group or others.
    public static func read(path: String, warn: @escaping (String) -> Void) throws -> SigningKey {
        let text = try KeyText.read(path, what: "signing key", warnIfShared: warn)
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let algorithm = SignatureAlgorithm.allCases.first(where: { fileTag($0) == fields[0] }),
              var seed = Base64.decode(String(fields[1])), seed.count == 32 else {
            throw ArchiveError(.usage, "\(path) is not a kseal signing key (a line 'kseal-signing-key-p256 BASE64' or '-ed25519', as 'kseal keygen --signing' writes)")
        }
        defer { wipe(&seed) }
        return try SigningKey(seed: seed, algorithm: algorithm)
    }

    /// Writes the private key (mode 0600) to `path` and the public key to `path.pub` (for P-256
    /// with a self-signed certificate, which a device's kernel takes), refusing to replace either.
    public func write(to path: String) throws {
        var secret: [UInt8]
        var publicKey = self.publicKey
        switch key {
        case .ed25519(let k): secret = k.seed
        case .ecdsaP256(let k):
            secret = k.raw
            do {
                publicKey = try PublicSigningKey(algorithm: .ecdsaP256, bytes: k.publicKey, certificate: try k.certificate(commonName: "kseal signing key"))
            } catch let error as CryptoError { throw ArchiveError(.internal, error.message) }
        }
        defer { wipe(&secret) }
        try KeyText.create(path, Array("\(Self.fileTag(algorithm)) \(Base64.encode(secret))\n".utf8), mode: 0o600)
        try KeyText.create(path + ".pub", Array(publicKey.fileText.utf8), mode: 0o644)
    }

    func sign(_ message: [UInt8]) throws -> [UInt8] {
        do {
            switch key {
            case .ed25519(let k): return try k.sign(message)
            case .ecdsaP256(let k): return try k.sign(message)
            }
        } catch let error as CryptoError { throw ArchiveError.crypto(error, "signing") }
    }
}
#endif

/// The keys a reader trusts (`--trust`, the trust directory). Empty: no policy, and any
/// archive, signed or not, is read (a signature is still checked and reported).
public struct TrustPolicy: Sendable {
    public let keys: [PublicSigningKey]
    public var isEmpty: Bool { keys.isEmpty }

    public init(_ keys: [PublicSigningKey] = []) { self.keys = keys }

    /// The keys in `files`, and in every `*.pub` file of `directory` (an unreadable or malformed
    /// file is an error, never skipped). A missing directory adds none, unless `required`: a
    /// directory the user named that is missing or holds no key would turn signature checks off
    /// without a word, so it is a usage error.
    public static func load(files: [String], directory: String?, required: Bool = false) throws -> TrustPolicy {
        var keys = try files.map(PublicSigningKey.read(path:))
        if let directory {
            let found = try KeyText.publicKeyFiles(in: directory)
            if required && found.isEmpty {
                throw ArchiveError(.usage, "--trust-dir \(directory): no such directory, or no *.pub key in it (trusting no key, kseal would require no signature)")
            }
            keys += try found.map(PublicSigningKey.read(path:))
        }
        return TrustPolicy(keys)
    }
}

/// What a reader found of an archive's signature (spec §4.4).
public enum SignatureVerdict: Sendable, Equatable {
    case unsigned
    /// A valid signature by `key`; `trusted` is nil when no trust policy was given.
    case signed(by: PublicSigningKey, trusted: Bool?)
}

/// The signature record after the sealed index (spec §4.4): 8 bytes, the public key, the
/// signature; 104 bytes for Ed25519, 137 for P-256.
struct SignatureRecord {
    static let prefixSize = 8
    static let magic = Array("KSSG".utf8)
    let algorithm: SignatureAlgorithm
    let publicKey: [UInt8]
    let signature: [UInt8]

    var size: Int { Self.prefixSize + publicKey.count + signature.count }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: size)
        w.append(Self.magic)
        w.append(le: algorithm.rawValue)
        w.append(le: UInt16(0))
        w.append(publicKey)
        w.append(signature)
        return w.bytes
    }

    /// Reads a record from `source`.
    /// - Throws: `.damaged` for a record that is not one; `.unsupported` for another algorithm.
    static func read(from source: ByteSource) throws -> SignatureRecord {
        var r = ByteReader(try source.read(prefixSize, what: "the signature"))
        guard r.take(4) == magic else { throw ArchiveError(.damaged, "signature record: bad magic") }
        let number: UInt16 = r.le(), reserved: UInt16 = r.le()
        guard let algorithm = SignatureAlgorithm(rawValue: number) else {
            throw ArchiveError(.unsupported, "signature algorithm \(number); this kseal checks Ed25519 (1) and ECDSA P-256 (2)")
        }
        guard reserved == 0 else { throw ArchiveError(.damaged, "signature record: reserved bytes are not zero") }
        let body = try source.read(algorithm.publicKeySize + SignatureAlgorithm.signatureSize, what: "the signature")
        return SignatureRecord(algorithm: algorithm, publicKey: Array(body.prefix(algorithm.publicKeySize)),
                               signature: Array(body.suffix(SignatureAlgorithm.signatureSize)))
    }

    /// What is signed: a label, the algorithm and key, and the SHA-256 of every byte before the
    /// record (header, key slots, header MAC, sealed index), which the index's chunk hashes
    /// extend to every byte of content. (ECDSA signs its SHA-256 in turn.)
    static func message(algorithm: SignatureAlgorithm, publicKey: [UInt8], digest: [UInt8]) -> [UInt8] {
        Array("kseal/v2/signature".utf8) + [UInt8(algorithm.rawValue & 0xFF), UInt8(algorithm.rawValue >> 8)] + publicKey + digest
    }
}

#if UserspaceCrypto
extension SigningKey {
    /// The signature record over `digest`, the SHA-256 of every byte before it (spec §4.4).
    func record(for digest: [UInt8]) throws -> SignatureRecord {
        let message = SignatureRecord.message(algorithm: algorithm, publicKey: publicKey.bytes, digest: digest)
        return SignatureRecord(algorithm: algorithm, publicKey: publicKey.bytes, signature: try sign(message))
    }
}
#else
/// The kernel-only build signs nothing (the kernel checks signatures but makes none from a key
/// file): every way to a signing key says so, with the CLI's status 4.
public final class SigningKey: @unchecked Sendable {
    public let publicKey: PublicSigningKey
    public var algorithm: SignatureAlgorithm { publicKey.algorithm }
    private init(publicKey: PublicSigningKey) { self.publicKey = publicKey }

    static var unavailable: ArchiveError {
        ArchiveError(.cryptoUnavailable, "signing keys need the user-space backend, and this kseal is the kernel-only build; sign on a build host")
    }
    public static func generate(_ algorithm: SignatureAlgorithm = .ecdsaP256) throws -> SigningKey { throw unavailable }
    public static func read(path: String, warn: @escaping (String) -> Void) throws -> SigningKey { throw unavailable }
    public func write(to path: String) throws { throw Self.unavailable }
    func record(for digest: [UInt8]) throws -> SignatureRecord { throw Self.unavailable }
}
#endif

/// Checks a signature record against a trust policy (spec §4.4). ECDSA P-256 is checked by the
/// kernel when the kernel backend runs and the trusted key's certificate can go into a keyring
/// (Linux 6.12 and later); otherwise, and for Ed25519, in user space. Both give the same verdict.
enum SignatureCheck {
    /// - Returns: the verdict, and what checked the signature ("kernel (keyctl pkey_verify)", or
    ///   "user space" with the reason the kernel did not).
    /// - Throws: `.untrusted` (with a policy) or `.damaged` (without) when it does not hold.
    static func check(_ record: SignatureRecord, digest: [UInt8], trust: TrustPolicy, backend: any CryptoBackend) throws -> (SignatureVerdict, String) {
        let signer = try PublicSigningKey(algorithm: record.algorithm, bytes: record.publicKey)
        let trusted = trust.keys.first { $0 == signer }
        if !trust.isEmpty && trusted == nil {
            throw ArchiveError(.untrusted, "not trusted: the archive is signed by \(signer), which is not among the \(trust.keys.count) trusted keys")
        }
        let message = SignatureRecord.message(algorithm: record.algorithm, publicKey: record.publicKey, digest: digest)
        let checked: (valid: Bool, by: String)
        do {
            checked = try verify(record, message: message, certificate: trusted?.certificate, backend: backend)
        } catch let error as CryptoError where error.code == .unavailable && trust.isEmpty {
            // The kernel-only build with nothing trusted: the signature vouches for nothing here,
            // so what cannot be checked is said, not refused.
            return (.signed(by: signer, trusted: nil), "not checked (\(error.message))")
        }
        guard checked.valid else {
            // Without a trust policy this is damage; with one, it is what a forger produces.
            throw ArchiveError(trust.isEmpty ? .damaged : .untrusted,
                               "\(trust.isEmpty ? "" : "not trusted: ")the signature by \(signer) does not verify: the archive was altered after it was signed")
        }
        return (.signed(by: signer, trusted: trust.isEmpty ? nil : true), checked.by)
    }

    /// - Throws: ``CryptoError`` `.unavailable` when nothing in this build can check it (the
    ///   kernel-only build, for Ed25519 or where the kernel cannot check P-256).
    private static func verify(_ record: SignatureRecord, message: [UInt8], certificate: [UInt8]?, backend: any CryptoBackend) throws -> (valid: Bool, by: String) {
        switch record.algorithm {
        case .ed25519:
            return (try Ed25519.isValid(signature: record.signature, of: message, publicKey: record.publicKey), "user space (Ed25519)")
        case .ecdsaP256:
            var why = "the kernel backend is not running"
            if backend.kind == .kernel, let certificate {
                do {
                    let digest = try backend.makeSHA256().digest(message)
                    return (try KernelSignatureKey(certificate: certificate).isValid(signature: record.signature, digest: digest),
                            "kernel (keyctl pkey_verify)")
                } catch let error as CryptoError {
                    why = error.message
                }
            } else if certificate == nil {
                why = "no trusted certificate to give the kernel"
            }
#if UserspaceCrypto
            return (ECDSAP256.isValid(signature: record.signature, of: message, publicKey: record.publicKey), "user space (\(why))")
#else
            throw CryptoError(.unavailable, "the kernel cannot check this P-256 signature (\(why)), and this kseal is the kernel-only build: it has no user-space backend")
#endif
        }
    }
}
