#if canImport(Glibc)
import Glibc
#endif
import KsealCrypto

/// What `kseal rekey` changes: key slots added and removed. The data key, the index and the
/// frames stay as they are, so nothing is decrypted or re-encrypted but the slots.
public struct RekeyChanges {
    public var addKeyFiles: [KeyFile] = []
    public var addPassphrases: [Passphrase] = []
    /// Slot indexes to free (spec §4.6): the other slots keep their indexes, which their AADs bind.
    public var removeSlots: [Int] = []
    /// A signed archive's slots are covered by its signature, so it must be signed again.
    public var signingKey: SigningKey?
    public var scryptCost = ScryptCost.standard
    /// Rewrite an archive that has other hard links, which then keep the old slots.
    public var breakHardLinks = false

    public init() {}
    var isEmpty: Bool { addKeyFiles.isEmpty && addPassphrases.isEmpty && removeSlots.isEmpty }
}

public struct RekeySummary: Sendable {
    /// The slots' kinds after the change; the slot that opened the archive.
    public let slotKinds: [UInt16]
    public let openedSlot: Int
    /// Bytes copied unchanged (sealed index, frames and end marker) and the archive's new size.
    public let bytesCopied: Int64
    public let archiveBytes: Int64
}

public enum Rekey {
    /// Rewrites `path` with its key slots changed, atomically (the old archive stays until the
    /// new one is complete). The archive is opened with `keyFiles`/`passphrases` (spec §8 steps
    /// 1–5), its index segments (and signature) authenticated, and its frames copied with
    /// `copy_file_range`, never decrypted.
    /// - Throws: ``ArchiveError``: `.usage` for a change that cannot be made (removing every
    ///   slot, a free or missing slot, a signed archive without `signingKey`).
    public static func rekey(_ path: String, keyFiles: [KeyFile], passphrases: [Passphrase], changes: RekeyChanges,
                             backend: any CryptoBackend) throws -> RekeySummary {
        guard !changes.isEmpty else { throw ArchiveError(.usage, "nothing to change: give --add-key, --add-passphrase or --remove-slot") }
        // The file the path names is the one rewritten: through a symlink (replacing the link
        // would leave the archive itself unchanged, its removed keys still opening it), and not
        // one of several hard links unless asked (the other names would keep the old slots).
        let target = try fileNamed(by: path)
        let file = try SystemFile.open(target, flags: O_RDONLY | O_CLOEXEC)
        let status = try file.status()
        if status.linkCount > 1 && !changes.breakHardLinks {
            throw ArchiveError(.usage, "\(path) has \(status.linkCount) hard links; rekey writes a new file, so the other names would keep "
                               + "the old key slots (a removed key would still open them): give --break-hard-links to change this name only")
        }
        let source = ByteSource(file)
        let front = try ArchiveFront(source: source, keyFiles: keyFiles, passphrases: passphrases, backend: backend)
        var header = front.header
        try check(changes, header: header, slots: front.slots)
        // The index stays sealed as it is; it is authenticated (and the signature checked) first.
        var sealedIndex: [UInt8] = []
        _ = try front.readIndex(from: source, backend: backend, trust: TrustPolicy()) { sealedIndex += $0 }
        let framesStart = source.offset
        // New slots: removed ones freed, added ones in the first free places (a new slot under
        // a new key, so reusing an index reuses no nonce under any key), then appended.
        var slots = front.slots
        for index in changes.removeSlots { slots[index] = KeySlot(kind: KeySlotKind.free.rawValue, body: []) }
        func place() -> Int {
            if let free = slots.firstIndex(where: { $0.kind == KeySlotKind.free.rawValue }) { return free }
            slots.append(KeySlot(kind: KeySlotKind.free.rawValue, body: []))
            return slots.count - 1
        }
        for keyFile in changes.addKeyFiles {
            let i = place()
            slots[i] = try KeyFileSlot.wrap(dataKey: front.dataKey, keyFile: keyFile, header: header, slotIndex: UInt16(i), backend: backend)
        }
        for passphrase in changes.addPassphrases {
            let i = place()
            slots[i] = try PassphraseSlot.wrap(dataKey: front.dataKey, passphrase: passphrase, cost: changes.scryptCost, salt: SecureRandom.bytes(16),
                                               header: header, slotIndex: UInt16(i), backend: backend)
        }
        guard slots.count <= FormatV1.maxSlots else { throw ArchiveError(.usage, "an archive has at most \(FormatV1.maxSlots) key slots") }
        header.slotCount = UInt16(slots.count)
        // Header, slots and MAC anew; the sealed index as it was; a new signature; the frames
        // and end marker copied in the kernel.
        let output = try AtomicOutput(path: target, replacing: status)
        var newFront = header.encoded() + slots.flatMap { $0.encoded() }
        newFront += try backend.makeHMACSHA256(key: front.subkeys.header).digest(newFront)
        try output.file.writeAll(newFront + sealedIndex)
        if let signingKey = changes.signingKey {
            let signed = try backend.makeSHA256().digest(newFront + sealedIndex)
            try output.file.writeAll(try signingKey.record(for: signed).encoded())
        }
        try output.file.append(from: file, at: framesStart, length: status.size - framesStart)
        let archiveBytes = try output.file.status().size
        try output.commit()
        return RekeySummary(slotKinds: slots.map(\.kind), openedSlot: front.openedSlot, bytesCopied: Int64(sealedIndex.count) + status.size - framesStart,
                            archiveBytes: archiveBytes)
    }

    /// `path`, or the file it names through symlinks.
    private static func fileNamed(by path: String) throws -> String {
        guard case .symlink = try FileStatus.of(Array(path.utf8)).kind else { return path }
        return try system_realpath(path).orThrow("realpath", path)
    }

    private static func check(_ changes: RekeyChanges, header: ArchiveHeader, slots: [KeySlot]) throws {
        for index in changes.removeSlots {
            guard slots.indices.contains(index), slots[index].kind != KeySlotKind.free.rawValue else {
                throw ArchiveError(.usage, "there is no slot \(index) to remove (slots 0 to \(slots.count - 1); see kseal info)")
            }
        }
        let remaining = slots.indices.filter { slots[$0].kind != KeySlotKind.free.rawValue && !changes.removeSlots.contains($0) }
        guard !remaining.isEmpty || !changes.addKeyFiles.isEmpty || !changes.addPassphrases.isEmpty else {
            throw ArchiveError(.usage, "removing every key slot would leave an archive nobody can open")
        }
        if header.isSigned && changes.signingKey == nil {
            throw ArchiveError(.usage, "the archive is signed, and its signature covers the key slots: give --sign KEY to sign it again")
        }
        if !header.isSigned && changes.signingKey != nil {
            throw ArchiveError(.usage, "rekey cannot sign an unsigned archive (every slot binds the header's flags); create it with --sign")
        }
        if header.version == .v1 && !changes.addPassphrases.isEmpty {
            throw ArchiveError(.usage, "format 1 archives have no passphrase slots")
        }
    }
}
