import KsealCrypto

/// An archive's front, opened (spec §8 steps 1–5): the header and key slots read, the data key
/// taken from the first slot that opens with a key or passphrase given, the key commitment and
/// the header MAC checked. The data key is wiped when this goes.
final class ArchiveFront {
    let header: ArchiveHeader
    let headerBytes: [UInt8], slotBytes: [UInt8], mac: [UInt8]
    let slots: [KeySlot]
    /// The slot that opened, and the key that opened it (key files first, then passphrases).
    let openedSlot: Int, openingKey: Int
    private(set) var dataKey: [UInt8]
    let subkeys: Subkeys

    /// Every byte before the sealed index.
    var bytes: [UInt8] { headerBytes + slotBytes + mac }

    deinit { wipe(&dataKey) }

    init(source: ByteSource, keyFiles: [KeyFile], passphrases: [Passphrase], backend: any CryptoBackend) throws {
        // 1. Header: parsed and bounded, not yet trusted.
        headerBytes = try Self.readHeader(source)
        header = try ArchiveHeader.decode(headerBytes)
        // 2. Key slots, then the MAC.
        var slotBytes: [UInt8] = []
        var slots: [KeySlot] = []
        for i in 0..<Int(header.slotCount) {
            let prefix = try source.read(4, what: "key slot \(i)")
            let kind = UInt16(prefix[0]) | UInt16(prefix[1]) << 8
            let length = Int(UInt16(prefix[2]) | UInt16(prefix[3]) << 8)
            guard length <= FormatV1.maxSlotBody else { throw ArchiveError(.damaged, "key slot \(i): body of \(length) bytes") }
            let body = try source.read(length, what: "key slot \(i)")
            slots.append(KeySlot(kind: kind, body: body))
            slotBytes += prefix + body
        }
        self.slotBytes = slotBytes
        self.slots = slots
        mac = try source.read(FormatV1.macSize, what: "the header MAC")
        // 3. The data key from the first slot that opens.
        (dataKey, openedSlot, openingKey) = try Self.open(slots, header: header, keyFiles: keyFiles, passphrases: passphrases, backend: backend)
        // 4. Key commitment, then 5. the header MAC: now header and slots are authentic.
        subkeys = try Subkeys(backend: backend, dataKey: dataKey, archiveID: header.archiveID, version: header.version)
        guard constantTimeEqual(subkeys.commitment, header.keyCommitment) else {
            throw ArchiveError(.damaged, "key commitment mismatch: the key slot does not belong to this header")
        }
        let expected = try backend.makeHMACSHA256(key: subkeys.header).digest(headerBytes + slotBytes)
        guard constantTimeEqual(expected, mac) else { throw ArchiveError(.damaged, "header authentication failed: the header or key slots were altered") }
    }

    /// What step 6 reads after the front: the index, opened, and the signature, checked.
    struct SealedIndex {
        /// The authenticated, still compressed index (in memory up to 256 KiB, else in a file).
        let compressed: Spool
        let signature: SignatureVerdict
        /// What checked the signature (nil when unsigned).
        let checkedBy: String?
    }

    /// Spec §8 step 6 up to decompression: with a trust policy an unsigned archive is refused
    /// first; then every index segment is opened (each one's sealed bytes told to `sealed`)
    /// while the signature digest is taken, and a signed archive's record is checked against
    /// `trust` (§4.4). Only segments that authenticated are kept, beyond 256 KiB in a file.
    func readIndex(from source: ByteSource, backend: any CryptoBackend, trust: TrustPolicy,
                   sealed: ([UInt8]) throws -> Void = { _ in }) throws -> SealedIndex {
        if !trust.isEmpty && !header.isSigned {
            throw ArchiveError(.untrusted, "not trusted: the archive is not signed, and \(trust.keys.count) signing keys are trusted")
        }
        let digest = try backend.makeSHA256()
        try digest.update(bytes)
        let context = try backend.aes256GCM(key: subkeys.index).makeContext()
        let count = header.indexSegmentCount
        let compressed = Spool(limit: IndexImage.inMemoryLimit)
        var remaining = Int(header.indexStoredLength)
        for segment in 0..<count {
            let plainCount = min(remaining, Int(header.chunkSize))
            let segmentBytes = try source.read(plainCount + FormatV1.tagSize, what: "index segment \(segment)")
            try digest.update(segmentBytes)
            try sealed(segmentBytes)
            let aad = indexAAD(version: header.version, archiveID: header.archiveID, segment: segment, segmentCount: count)
            do {
                try compressed.append(try context.open(segmentBytes, nonce: counterNonce(segment), aad: aad))
            } catch let error as CryptoError where error.code == .authenticationFailed {
                throw ArchiveError(.damaged, "index segment \(segment) of \(count): authentication failed", cause: error)
            }
            remaining -= plainCount
        }
        guard header.isSigned else { return SealedIndex(compressed: compressed, signature: .unsigned, checkedBy: nil) }
        let (verdict, checkedBy) = try SignatureCheck.check(try SignatureRecord.read(from: source), digest: digest.finalize(), trust: trust, backend: backend)
        return SealedIndex(compressed: compressed, signature: verdict, checkedBy: checkedBy)
    }

    /// The first 128 bytes. A shorter input is "not a kseal archive" unless it starts like one
    /// (then it is a truncated archive): `kseal list notes.txt` should say what the file is not.
    private static func readHeader(_ source: ByteSource) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: FormatV1.headerSize)
        let count = try bytes.withUnsafeMutableBytes { try source.readAvailable(into: $0) }
        guard count < bytes.count else { return bytes }
        let compared = min(count, FormatV1.magic.count)
        guard count > 0, bytes[0..<compared].elementsEqual(FormatV1.magic[0..<compared]) else {
            throw ArchiveError(.damaged, "not a kseal archive (\(count) bytes, shorter than a kseal header, and no kseal magic)")
        }
        throw ArchiveError(.damaged, "archive truncated: \(count) bytes, inside the header (128)")
    }

    /// Tries each slot, in order, with every key or passphrase of its kind (spec §8 step 3).
    private static func open(_ slots: [KeySlot], header: ArchiveHeader, keyFiles: [KeyFile], passphrases: [Passphrase],
                             backend: any CryptoBackend) throws -> ([UInt8], Int, Int) {
        var tooCostly: ArchiveError?
        for (i, slot) in slots.enumerated() {
            switch KeySlotKind(rawValue: slot.kind) {
            case .keyFile:
                for (k, keyFile) in keyFiles.enumerated() {
                    if let key = try KeyFileSlot.unwrap(slot, keyFile: keyFile, header: header, slotIndex: UInt16(i), backend: backend) { return (key, i, k) }
                }
            case .passphrase:
                for (k, passphrase) in passphrases.enumerated() {
                    do {
                        if let key = try PassphraseSlot.unwrap(slot, passphrase: passphrase, header: header, slotIndex: UInt16(i), backend: backend) {
                            return (key, i, keyFiles.count + k)
                        }
                    } catch let error as ArchiveError where error.code == .unsupported {
                        tooCostly = error  // not tried; said if nothing else opens
                        break
                    }
                }
            case .free, nil:
                continue  // removed, or a kind this reader does not know (spec §4.1)
            }
        }
        if let tooCostly { throw tooCostly }
        let given = keyFiles.map(\.name) + (passphrases.isEmpty ? [] : [passphrases.count == 1 ? "passphrase" : "\(passphrases.count) passphrases"])
        let keys = given.count == 1 ? "the \(given[0])" : "any of: \(given.joined(separator: ", "))"
        throw ArchiveError(.wrongKey, "wrong key: no key slot of this archive opens with \(keys) (or its key slots are damaged)")
    }
}
