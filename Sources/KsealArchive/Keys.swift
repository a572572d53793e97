import CSystemShim
#if canImport(Glibc)
import Glibc
#endif
import KsealCrypto

/// Zeroes a secret held in an array, if this is its only reference (best effort: Swift may have
/// made copies; the kernel backend is the way to keep keys out of user memory altogether).
func wipe(_ secret: inout [UInt8]) {
    secret.withUnsafeMutableBytes { kseal_wipe($0.baseAddress, $0.count) }
}

/// The 256-bit key that opens key-file slots (spec §4.2): a key file as made by `kseal keygen`
/// (exactly 32 raw bytes, wiped from memory when the last reference goes), or the same 32 bytes
/// held by the kernel in a keyring, which kseal uses through AF_ALG and never sees.
public final class KeyFile: @unchecked Sendable {
    public static let size = 32
    /// The key's bytes; empty for a kernel-held key.
    private(set) var bytes: [UInt8]
    private let kernelKey: KernelKeyringKey?
    /// How messages name the key: its path, or the kernel key's description.
    public let name: String

    public init(bytes: [UInt8], name: String = "key file") throws {
        guard bytes.count == Self.size else { throw ArchiveError(.usage, "a key file holds exactly \(Self.size) bytes, this one \(bytes.count)") }
        self.bytes = bytes
        kernelKey = nil
        self.name = name
    }

    /// A key held by the kernel: slots are opened (and made) through `hmac(sha256)` keyed from it
    /// by serial, and only per-archive keys derived from it reach this process.
    public init(kernelKey: KernelKeyringKey) {
        bytes = []
        self.kernelKey = kernelKey
        name = "kernel key \(kernelKey.name)"
    }

    /// Finds the kernel key named by `specification`: a description (`kseal:fleet`), or a serial.
    /// - Throws: ``ArchiveError`` `.cryptoUnavailable` with the reason (no AF_ALG, no such key,
    ///   a kernel before Linux 6.2).
    public static func inKernel(_ specification: String) throws -> KeyFile {
        do {
            if let serial = Int32(specification), serial > 0 { return KeyFile(kernelKey: try KernelKeyringKey(serial: serial)) }
            return KeyFile(kernelKey: try KernelKeyringKey.find(description: specification))
        } catch let error as CryptoError {
            throw ArchiveError(.cryptoUnavailable, error.message, cause: error)
        }
    }

    deinit { wipe(&bytes) }

    /// Calls `body` with the key's bytes (`keygen -o -`); a kernel-held key has none here.
    public func withBytes<T>(_ body: ([UInt8]) throws -> T) rethrows -> T { try body(bytes) }

    /// Whether the kernel holds this key (it has no bytes here).
    public var isInKernel: Bool { kernelKey != nil }

    /// The key that wraps the data key in a key-file slot of `header`'s archive (spec §4.2).
    /// Format 2 derives it with HKDF-Expand, the key file being the pseudorandom key (it is a
    /// uniformly random 32-byte key), which is one HMAC keyed with the key file, so the kernel
    /// can compute it from a keyring key. Format 1 used the key file as HKDF's input keying
    /// material, which is HMAC data: that needs the bytes.
    func slotWrappingKey(header: ArchiveHeader, backend: any CryptoBackend) throws -> [UInt8] {
        let label = header.version.labels.keyFileSlot
        switch header.version {
        case .v1:
            guard kernelKey == nil else {
                throw ArchiveError(.cryptoUnavailable, "\(name): format 1 archives use the key as data, which a kernel-held key never is; "
                    + "open this one with the key file, or re-create it in format 2")
            }
            return try HKDFSHA256.deriveKey(backend: backend, inputKey: bytes, salt: header.archiveID, info: label, outputLength: 32)
        case .v2:
            let info = label + header.archiveID
            guard let kernelKey else {
                return try HKDFSHA256.expand(backend: backend, pseudoRandomKey: bytes, info: info, outputLength: 32)
            }
            do {
                return try kernelKey.makeHMACSHA256().digest(info + [1])
            } catch let error as CryptoError {
                throw ArchiveError.crypto(error, "\(name)")
            }
        }
    }

    /// A new key from the system's random source.
    public static func generate() throws -> KeyFile { try KeyFile(bytes: SecureRandom.bytes(size)) }

    /// Reads a key file.
    /// - Parameter warn: told when the file is readable by group or others.
    /// - Throws: ``ArchiveError`` `.usage` when the file is missing, unreadable or not 32 bytes.
    public static func read(path: String, warn: (String) -> Void) throws -> KeyFile {
        var bytes = try withoutActuallyEscaping(warn) { try KeyText.readBytes(path, what: "key file", limit: size, warnIfShared: $0) }
        defer { wipe(&bytes) }
        guard bytes.count == size else {
            throw ArchiveError(.usage, "key file \(path) is not a kseal key (\(bytes.count == size + 1 ? "more than" : "\(bytes.count) of") \(size) bytes)")
        }
        return try KeyFile(bytes: bytes, name: "key file \(path)")
    }

    /// Writes the key with mode 0600, refusing to replace an existing file.
    public func write(to path: String) throws {
        try KeyText.create(path, bytes, mode: 0o600)
    }
}

/// Randomness from the kernel (getrandom), for data keys, archive ids and key files.
public enum SecureRandom {
    public static func bytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            switch out.withUnsafeMutableBytes({ system_getrandom(UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }) {
            case .success(let n): filled += n
            case .failure(let errno):
                throw ArchiveError(.internal, "getrandom failed: \(String(cString: strerror(errno.rawValue)))")
            }
        }
        return out
    }
}

/// The per-archive secrets: a fresh data key and a random archive id (spec §3).
public struct ArchiveSecrets: Sendable {
    public let dataKey: [UInt8]
    public let archiveID: [UInt8]
    /// The salt of passphrase slots; nil draws a fresh one per slot.
    public let slotSalt: [UInt8]?

    /// Fixed secrets, for test vectors only: the CLI always draws fresh ones.
    public init(dataKey: [UInt8], archiveID: [UInt8], slotSalt: [UInt8]? = nil) {
        precondition(dataKey.count == 32 && archiveID.count == 32 && (slotSalt?.count ?? 16) == 16)
        self.dataKey = dataKey
        self.archiveID = archiveID
        self.slotSalt = slotSalt
    }

    static func fresh() throws -> ArchiveSecrets { ArchiveSecrets(dataKey: try SecureRandom.bytes(32), archiveID: try SecureRandom.bytes(32)) }
}

/// Keys derived from the data key by HKDF-SHA256 through the backend (spec §3), wiped when dropped.
final class Subkeys {
    private(set) var chunk: [UInt8]
    private(set) var index: [UInt8]
    private(set) var header: [UInt8]
    let commitment: [UInt8]

    deinit {
        wipe(&chunk)
        wipe(&index)
        wipe(&header)
    }

    init(backend: any CryptoBackend, dataKey: [UInt8], archiveID: [UInt8], version: FormatVersion) throws {
        let labels = version.labels
        var prk = try HKDFSHA256.extract(backend: backend, inputKey: dataKey, salt: archiveID)
        defer { wipe(&prk) }
        func expand(_ label: [UInt8]) throws -> [UInt8] {
            try HKDFSHA256.expand(backend: backend, pseudoRandomKey: prk, info: label, outputLength: 32)
        }
        chunk = try expand(labels.chunk)
        index = try expand(labels.index)
        header = try expand(labels.header)
        commitment = try expand(labels.commit)
    }
}

/// Key-file slots (spec §4): the data key wrapped under a key derived from the key file.
enum KeyFileSlot {
    static let bodySize = 32 + FormatV1.tagSize

    static func wrap(dataKey: [UInt8], keyFile: KeyFile, header: ArchiveHeader, slotIndex: UInt16, backend: any CryptoBackend) throws -> KeySlot {
        let context = try wrappingContext(keyFile: keyFile, header: header, backend: backend)
        let aad = slotAAD(header: header, slotIndex: slotIndex, kind: KeySlotKind.keyFile.rawValue)
        let body = try context.seal(dataKey, nonce: counterNonce(UInt64(slotIndex)), aad: aad)
        return KeySlot(kind: KeySlotKind.keyFile.rawValue, body: body)
    }

    /// - Returns: the data key, or nil when this slot does not open with `keyFile`.
    static func unwrap(_ slot: KeySlot, keyFile: KeyFile, header: ArchiveHeader, slotIndex: UInt16, backend: any CryptoBackend) throws -> [UInt8]? {
        guard slot.kind == KeySlotKind.keyFile.rawValue, slot.body.count == bodySize else { return nil }
        let context = try wrappingContext(keyFile: keyFile, header: header, backend: backend)
        let aad = slotAAD(header: header, slotIndex: slotIndex, kind: slot.kind)
        do {
            return try context.open(slot.body, nonce: counterNonce(UInt64(slotIndex)), aad: aad)
        } catch let error as CryptoError where error.code == .authenticationFailed {
            return nil
        }
    }

    private static func wrappingContext(keyFile: KeyFile, header: ArchiveHeader, backend: any CryptoBackend) throws -> any AEADContext {
        var kek = try keyFile.slotWrappingKey(header: header, backend: backend)
        defer { wipe(&kek) }
        return try backend.aes256GCM(key: kek).makeContext()
    }
}
