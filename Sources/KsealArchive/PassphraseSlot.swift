import KsealCrypto

/// A passphrase, wiped from memory when the last reference goes.
public final class Passphrase: @unchecked Sendable {
    private(set) var bytes: [UInt8]

    /// - Throws: ``ArchiveError`` `.usage` for an empty passphrase.
    public init(bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { throw ArchiveError(.usage, "the passphrase is empty") }
        self.bytes = bytes
    }

    deinit { wipe(&bytes) }

    /// Whether two passphrases are the same (a prompt's confirmation).
    public func bytesEqual(_ other: Passphrase) -> Bool { constantTimeEqual(bytes, other.bytes) }

    /// The first line of a file, without its line ending (`--passphrase-file`).
    public static func read(path: String) throws -> Passphrase {
        var text = Array(try KeyText.read(path, what: "passphrase file").utf8)
        defer { wipe(&text) }
        let line = text.prefix { $0 != UInt8(ascii: "\n") }
        return try Passphrase(bytes: Array(line.last == UInt8(ascii: "\r") ? line.dropLast() : line))
    }
}

/// scrypt's cost in a passphrase slot (spec §4.5).
public struct ScryptCost: Equatable, Sendable {
    public var log2N: Int, r: Int, p: Int

    public init(log2N: Int, r: Int, p: Int) {
        self.log2N = log2N
        self.r = r
        self.p = p
    }

    /// What kseal writes: N = 2^16, r = 8, p = 1, which is 64 MiB of memory, so a device with
    /// 256 MiB of RAM can open it (see the spec and README for the time it takes).
    public static let standard = ScryptCost(log2N: 16, r: 8, p: 1)
    /// What kseal opens at most: 256 MiB of memory and p ≤ 4; a costlier slot is not tried.
    static let maxMemory = 256 << 20, maxP = 4

    var memory: Int { Scrypt.memory(log2N: log2N, r: r) }
    var isWithinLimits: Bool { (10...20).contains(log2N) && (1...32).contains(r) && (1...Self.maxP).contains(p) && memory <= Self.maxMemory }
}

/// Passphrase slots (spec §4.5): the data key wrapped under a key scrypt derives from a
/// passphrase, with the cost and a random salt in the slot.
enum PassphraseSlot {
    static let bodySize = 4 + 16 + 32 + FormatV1.tagSize

    static func wrap(dataKey: [UInt8], passphrase: Passphrase, cost: ScryptCost, salt: [UInt8], header: ArchiveHeader, slotIndex: UInt16,
                     backend: any CryptoBackend) throws -> KeySlot {
        precondition(salt.count == 16 && header.version == .v2)
        var kek = try wrappingKey(passphrase, cost: cost, salt: salt, header: header, backend: backend)
        defer { wipe(&kek) }
        let aad = slotAAD(header: header, slotIndex: slotIndex, kind: KeySlotKind.passphrase.rawValue)
        let sealed = try backend.aes256GCM(key: kek).makeContext().seal(dataKey, nonce: counterNonce(UInt64(slotIndex)), aad: aad)
        return KeySlot(kind: KeySlotKind.passphrase.rawValue, body: [UInt8(cost.log2N), UInt8(cost.r), UInt8(cost.p), 0] + salt + sealed)
    }

    /// - Returns: the data key, or nil when this slot does not open with `passphrase`.
    /// - Throws: `.unsupported` for a slot whose cost is over kseal's limits (it is not tried).
    static func unwrap(_ slot: KeySlot, passphrase: Passphrase, header: ArchiveHeader, slotIndex: UInt16, backend: any CryptoBackend) throws -> [UInt8]? {
        guard header.version == .v2, slot.kind == KeySlotKind.passphrase.rawValue, slot.body.count == bodySize, slot.body[3] == 0 else { return nil }
        let cost = ScryptCost(log2N: Int(slot.body[0]), r: Int(slot.body[1]), p: Int(slot.body[2]))
        guard cost.isWithinLimits else {
            throw ArchiveError(.unsupported, "passphrase slot \(slotIndex) asks scrypt for N=2^\(cost.log2N), r=\(cost.r), p=\(cost.p) "
                + "(\(cost.memory >> 20) MiB); kseal opens at most \(ScryptCost.maxMemory >> 20) MiB, p ≤ \(ScryptCost.maxP)")
        }
        var kek = try wrappingKey(passphrase, cost: cost, salt: Array(slot.body[4..<20]), header: header, backend: backend)
        defer { wipe(&kek) }
        let aad = slotAAD(header: header, slotIndex: slotIndex, kind: slot.kind)
        do {
            return try backend.aes256GCM(key: kek).makeContext().open(Array(slot.body[20...]), nonce: counterNonce(UInt64(slotIndex)), aad: aad)
        } catch let error as CryptoError where error.code == .authenticationFailed {
            return nil
        }
    }

    /// KEK = scrypt(passphrase, "kseal/v2/slot/passphrase" ‖ archive_id ‖ salt, N, r, p, 32).
    private static func wrappingKey(_ passphrase: Passphrase, cost: ScryptCost, salt: [UInt8], header: ArchiveHeader, backend: any CryptoBackend) throws -> [UInt8] {
        let fullSalt = Array("kseal/v2/slot/passphrase".utf8) + header.archiveID + salt
        do {
            return try Scrypt.deriveKey(passphrase: passphrase.bytes, salt: fullSalt, log2N: cost.log2N, r: cost.r, p: cost.p, backend: backend)
        } catch let error as CryptoError {
            throw ArchiveError.crypto(error, "deriving the passphrase key")
        }
    }
}
