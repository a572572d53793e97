#if canImport(Glibc)
import Glibc
#endif
import KsealCrypto

/// A public signing key as a device trusts it (spec §4.4): an Ed25519 public key, kept in a
/// one-line text file, `kseal-public-key-ed25519 BASE64 [comment]` (`NAME.pub`).
public struct PublicSigningKey: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]
    static let fileTag = "kseal-public-key-ed25519"

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Ed25519.publicKeySize else { throw ArchiveError(.usage, "an Ed25519 public key is 32 bytes, not \(bytes.count)") }
        self.bytes = bytes
    }

    /// How kseal names the key in messages and JSON: `ed25519:BASE64`.
    public var description: String { "ed25519:" + Base64.encode(bytes) }

    /// The public key file's text.
    public var fileText: String { "\(Self.fileTag) \(Base64.encode(bytes))\n" }

    /// Reads a public key file.
    /// - Throws: ``ArchiveError`` `.usage` when it is missing, unreadable or not a kseal public key.
    public static func read(path: String) throws -> PublicSigningKey {
        let text = try KeyText.read(path, what: "public key")
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, fields[0] == fileTag, let bytes = Base64.decode(String(fields[1])), bytes.count == Ed25519.publicKeySize else {
            throw ArchiveError(.usage, "\(path) is not a kseal public key (a line '\(fileTag) BASE64', as 'kseal keygen --signing' writes)")
        }
        return try PublicSigningKey(bytes: bytes)
    }
}

/// A private signing key, kept in a one-line text file with mode 0600,
/// `kseal-signing-key-ed25519 BASE64` (the 32-byte RFC 8032 private key); the public key goes
/// beside it as `NAME.pub`.
public final class SigningKey: @unchecked Sendable {
    let key: Ed25519.PrivateKey
    public let publicKey: PublicSigningKey
    static let fileTag = "kseal-signing-key-ed25519"

    init(_ key: Ed25519.PrivateKey) throws {
        self.key = key
        publicKey = try PublicSigningKey(bytes: key.publicKey)
    }

    public static func generate() throws -> SigningKey { try SigningKey(Ed25519.PrivateKey.generate()) }

    /// A fixed key, for test vectors only.
    public convenience init(seed: [UInt8]) throws {
        do { try self.init(try Ed25519.PrivateKey(seed: seed)) } catch let error as CryptoError { throw ArchiveError(.usage, error.message) }
    }

    /// Reads a signing key file.
    /// - Parameter warn: told when the file is readable by group or others.
    public static func read(path: String, warn: @escaping (String) -> Void) throws -> SigningKey {
        let text = try KeyText.read(path, what: "signing key", warnIfShared: warn)
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, fields[0] == fileTag, var seed = Base64.decode(String(fields[1])), seed.count == Ed25519.seedSize else {
            throw ArchiveError(.usage, "\(path) is not a kseal signing key (a line '\(fileTag) BASE64', as 'kseal keygen --signing' writes)")
        }
        defer { wipe(&seed) }
        return try SigningKey(seed: seed)
    }

    /// Writes the private key (mode 0600) to `path` and the public key to `path.pub`, refusing
    /// to replace either.
    public func write(to path: String) throws {
        var seed = key.seed
        defer { wipe(&seed) }
        try KeyText.create(path, Array("\(Self.fileTag) \(Base64.encode(seed))\n".utf8), mode: 0o600)
        try KeyText.create(path + ".pub", Array(publicKey.fileText.utf8), mode: 0o644)
    }

    func sign(_ message: [UInt8]) throws -> [UInt8] {
        do { return try key.sign(message) } catch let error as CryptoError { throw ArchiveError.crypto(error, "signing") }
    }
}

/// The keys a reader trusts (`--trust`, the trust directory). Empty: no policy, and any
/// archive, signed or not, is read (a signature is still checked and reported).
public struct TrustPolicy: Sendable {
    public let keys: [PublicSigningKey]
    public var isEmpty: Bool { keys.isEmpty }

    public init(_ keys: [PublicSigningKey] = []) { self.keys = keys }

    /// The keys in `files`, and in every `*.pub` file of `directory` (a missing directory adds
    /// none; an unreadable or malformed file is an error, never skipped).
    public static func load(files: [String], directory: String?) throws -> TrustPolicy {
        var keys = try files.map(PublicSigningKey.read(path:))
        if let directory { keys += try KeyText.publicKeyFiles(in: directory).map(PublicSigningKey.read(path:)) }
        return TrustPolicy(keys)
    }
}

/// What a reader found of an archive's signature (spec §4.4).
public enum SignatureVerdict: Sendable, Equatable {
    case unsigned
    /// A valid signature by `key`; `trusted` is nil when no trust policy was given.
    case signed(by: PublicSigningKey, trusted: Bool?)
}

/// The 104-byte signature record after the sealed index (spec §4.4).
struct SignatureRecord {
    static let size = 104
    static let magic = Array("KSSG".utf8)
    static let ed25519: UInt16 = 1
    let publicKey: [UInt8]
    let signature: [UInt8]

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.append(Self.magic)
        w.append(le: Self.ed25519)
        w.append(le: UInt16(0))
        w.append(publicKey)
        w.append(signature)
        return w.bytes
    }

    /// - Throws: `.damaged` for a record that is not one; `.unsupported` for another algorithm.
    static func decode(_ bytes: [UInt8]) throws -> SignatureRecord {
        var r = ByteReader(bytes)
        guard r.take(4) == magic else { throw ArchiveError(.damaged, "signature record: bad magic") }
        let algorithm: UInt16 = r.le(), reserved: UInt16 = r.le()
        guard algorithm == ed25519 else { throw ArchiveError(.unsupported, "signature algorithm \(algorithm); this kseal checks Ed25519 (1)") }
        guard reserved == 0 else { throw ArchiveError(.damaged, "signature record: reserved bytes are not zero") }
        return SignatureRecord(publicKey: r.take(32), signature: r.take(64))
    }

    /// What is signed: a label, the algorithm and key, and the SHA-256 of every byte before the
    /// record (header, key slots, header MAC, sealed index), which the index's chunk hashes
    /// extend to every byte of content.
    static func message(publicKey: [UInt8], digest: [UInt8]) -> [UInt8] {
        Array("kseal/v2/signature".utf8) + [UInt8(ed25519 & 0xFF), UInt8(ed25519 >> 8)] + publicKey + digest
    }
}
