#if canImport(Glibc)
import Glibc
#endif
import KsealCrypto

/// Where an archive is read from. Reading is strictly sequential, so a pipe works as well as a file.
public enum ArchiveSource: Sendable {
    case file(String)
    case standardInput
}

/// Sequential, buffered reads with exact lengths; running out is damage (truncation).
final class ByteSource {
    private let file: SystemFile
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private(set) var offset: Int64 = 0

    init(_ file: SystemFile, bufferSize: Int = 256 << 10) {
        self.file = file
        buffer = .allocate(byteCount: bufferSize, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Fills `target` completely.
    /// - Throws: ``ArchiveError`` `.damaged` ("truncated") at end of input, `.io` on read errors.
    func read(into target: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws {
        var filled = 0
        while filled < target.count {
            if start == end {
                // Large reads bypass the buffer.
                if target.count - filled >= buffer.count {
                    let n = try file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: target[filled...]))
                    filled += n
                    offset += Int64(n)
                    if filled < target.count { throw truncated(what()) }
                    return
                }
                start = 0
                end = try file.readFully(into: buffer)
                if end == 0 { throw truncated(what()) }
            }
            let n = min(end - start, target.count - filled)
            (target.baseAddress! + filled).copyMemory(from: buffer.baseAddress! + start, byteCount: n)
            start += n
            filled += n
            offset += Int64(n)
        }
    }

    func read(_ count: Int, what: @autoclosure () -> String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0, what: what()) }
        return bytes
    }

    /// True when no byte is left.
    func isAtEnd() throws -> Bool {
        if start < end { return false }
        start = 0
        end = try file.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<1]))
        return end == 0
    }

    private func truncated(_ what: String) -> ArchiveError {
        ArchiveError(.damaged, "archive truncated: input ends at byte \(offset) inside \(what)")
    }
}

/// An archive opened for reading: header, key slot and index authenticated (spec §8 steps 1–6);
/// frames follow through ``FrameReader``.
public final class ArchiveReader {
    public let header: ArchiveHeader
    public let index: ArchiveIndex
    public let backend: any CryptoBackend
    let source: ByteSource
    let subkeys: Subkeys
    /// Bytes before the first frame.
    public let frontLength: Int64

    /// Opens and authenticates everything before the frames.
    /// - Throws: ``ArchiveError``: `.wrongKey` when no slot opens, `.damaged` for any failed check,
    ///   `.unsupported` for a newer format.
    public init(_ archive: ArchiveSource, keyFile: KeyFile, backend: any CryptoBackend) throws {
        let file: SystemFile
        switch archive {
        case .file(let path): file = try SystemFile.open(path, flags: O_RDONLY | O_CLOEXEC)
        case .standardInput: file = SystemFile.standardInput()
        }
        self.backend = backend
        source = ByteSource(file)
        // 1. Header: parsed and bounded, not yet trusted.
        let headerBytes = try source.read(FormatV1.headerSize, what: "the header")
        header = try ArchiveHeader.decode(headerBytes)
        // 2. Key slots.
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
        let mac = try source.read(FormatV1.macSize, what: "the header MAC")
        do {
            // 3. Data key from the first slot that opens with this key file.
            var dataKey: [UInt8]?
            for (i, slot) in slots.enumerated() {
                if let key = try KeyFileSlot.unwrap(slot, keyFile: keyFile, header: header, slotIndex: UInt16(i), backend: backend) {
                    dataKey = key
                    break
                }
            }
            guard var dataKey else {
                throw ArchiveError(.wrongKey, "wrong key: no key slot of this archive opens with this key file (or its key slot is damaged)")
            }
            defer { wipe(&dataKey) }
            // 4. Key commitment, then 5. the header MAC: now header and slots are authentic.
            subkeys = try Subkeys(backend: backend, dataKey: dataKey, archiveID: header.archiveID)
            guard constantTimeEqual(subkeys.commitment, header.keyCommitment) else {
                throw ArchiveError(.damaged, "key commitment mismatch: the key slot does not belong to this header")
            }
            let expected = try backend.makeHMACSHA256(key: subkeys.header).digest(headerBytes + slotBytes)
            guard constantTimeEqual(expected, mac) else { throw ArchiveError(.damaged, "header authentication failed: the header or key slots were altered") }
            // 6. Index: every segment opened before SQLite sees a byte.
            let compressedIndex = try Self.openIndex(header: header, source: source, key: subkeys.index, backend: backend)
            let decompressor = try ZstdDecompressor(windowLogMax: 27)
            let database = try Database.deserialize(count: Int(header.indexPlainLength)) { image in
                try compressedIndex.withUnsafeBytes { try decompressor.decompress($0, into: image, what: "index") }
            }
            index = try ArchiveIndex.load(database, header: header)
        } catch let error as CryptoError {
            throw ArchiveError.crypto(error, "opening the archive")
        }
        frontLength = source.offset
    }

    /// Reads and opens every index segment; returns the authenticated, still compressed index.
    /// Memory grows only with segments that authenticated.
    private static func openIndex(header: ArchiveHeader, source: ByteSource, key: [UInt8], backend: any CryptoBackend) throws -> [UInt8] {
        let context = try backend.aes256GCM(key: key).makeContext()
        let count = header.indexSegmentCount
        var compressed: [UInt8] = []
        var remaining = Int(header.indexStoredLength)
        for segment in 0..<count {
            let plainCount = min(remaining, Int(header.chunkSize))
            let sealed = try source.read(plainCount + FormatV1.tagSize, what: "index segment \(segment)")
            let aad = indexAAD(archiveID: header.archiveID, segment: segment, segmentCount: count)
            do {
                compressed += try context.open(sealed, nonce: counterNonce(segment), aad: aad)
            } catch let error as CryptoError where error.code == .authenticationFailed {
                throw ArchiveError(.damaged, "index segment \(segment) of \(count): authentication failed", cause: error)
            }
            remaining -= plainCount
        }
        return compressed
    }

    /// Reads the frames that follow, in order.
    public func frames() throws -> FrameReader { try FrameReader(self) }
}

/// Reads, authenticates, decompresses and hash-checks frames in order (spec §8 step 7), then
/// the end marker (step 8).
public final class FrameReader {
    private let reader: ArchiveReader
    private let aead: any AEADContext
    private let sha256: any DigestContext
    private let decompressor: ZstdDecompressor
    private let sealed: UnsafeMutableRawBufferPointer
    private let stored: UnsafeMutableRawBufferPointer
    /// The plaintext of the last frame read.
    public let plain: UnsafeMutableRawBufferPointer
    public private(set) var nextOrdinal = 0
    /// Set once the input ended early; every later frame is missing.
    public private(set) var truncation: ArchiveError?

    init(_ reader: ArchiveReader) throws {
        self.reader = reader
        do {
            aead = try reader.backend.aes256GCM(key: reader.subkeys.chunk).makeContext()
            sha256 = try reader.backend.makeSHA256()
        } catch let error as CryptoError { throw ArchiveError.crypto(error, "opening frames") }
        // Chunks are at most 128 KiB, so a 2^17 window always suffices; larger requests are hostile.
        decompressor = try ZstdDecompressor(windowLogMax: 17)
        let size = Int(reader.header.chunkSize)
        sealed = .allocate(byteCount: size + FormatV1.tagSize, alignment: 64)
        stored = .allocate(byteCount: size, alignment: 64)
        plain = .allocate(byteCount: size, alignment: 64)
    }

    deinit {
        sealed.deallocate()
        stored.deallocate()
        plain.deallocate()
    }

    /// Reads the next frame. With `open`, authenticates it and leaves its verified plaintext in
    /// ``plain``; without, only consumes its bytes.
    /// - Returns: the plaintext length.
    /// - Throws: ``ArchiveError`` `.damaged` for this frame (the stream stays usable) or for
    ///   truncation (recorded in ``truncation``; every later call throws it again).
    @discardableResult
    public func next(open: Bool = true) throws -> Int {
        if let truncation { throw truncation }
        let ordinal = nextOrdinal
        let chunk = reader.index.chunks[ordinal]
        nextOrdinal += 1
        let sealedBuffer = UnsafeMutableRawBufferPointer(rebasing: sealed[0..<chunk.sealedLength])
        do {
            try reader.source.read(into: sealedBuffer, what: "frame \(ordinal)")
        } catch let error as ArchiveError where error.code == .damaged {
            truncation = error
            throw error
        }
        guard open else { return chunk.plainLength }
        let aad = frameAAD(archiveID: reader.header.archiveID, ordinal: UInt64(ordinal), compression: chunk.compression,
                           plainLength: chunk.plainLength, storedLength: chunk.storedLength, sha256: chunk.sha256)
        let target = chunk.compression == .raw ? plain : stored
        do {
            _ = try counterNonce(UInt64(ordinal)).withUnsafeBytes { nonce in
                try aad.withUnsafeBytes { try aead.open(UnsafeRawBufferPointer(sealedBuffer), nonce: nonce, aad: $0, into: target) }
            }
        } catch let error as CryptoError {
            if error.code == .authenticationFailed { throw ArchiveError(.damaged, "frame \(ordinal): authentication failed", cause: error) }
            throw ArchiveError.crypto(error, "frame \(ordinal)")
        }
        let plainBuffer = UnsafeMutableRawBufferPointer(rebasing: plain[0..<chunk.plainLength])
        if chunk.compression == .zstd {
            try decompressor.decompress(UnsafeRawBufferPointer(rebasing: stored[0..<chunk.storedLength]), into: plainBuffer, what: "frame \(ordinal)")
        }
        try checkHash(UnsafeRawBufferPointer(plainBuffer), ordinal: ordinal)
        return chunk.plainLength
    }

    /// Checks plaintext against the index's SHA-256 for chunk `ordinal` (also used for copies of
    /// deduplicated chunks read back from extracted files).
    func checkHash(_ data: UnsafeRawBufferPointer, ordinal: Int) throws {
        let digest: [UInt8]
        do { digest = try sha256.digest(data) } catch let error as CryptoError { throw ArchiveError.crypto(error, "hashing frame \(ordinal)") }
        guard digest == reader.index.chunks[ordinal].sha256 else {
            throw ArchiveError(.damaged, "frame \(ordinal): SHA-256 of the content does not match the index")
        }
    }

    /// After the last frame: the end marker, then end of input (spec §8 step 8).
    public func finish() throws {
        if let truncation { throw truncation }
        precondition(nextOrdinal == reader.index.chunks.count, "finish() before the last frame")
        let marker = try reader.source.read(FormatV1.endMarkerSize, what: "the end marker")
        guard marker == endMarker(framesLength: reader.header.framesLength) else {
            throw ArchiveError(.damaged, "end marker damaged or misplaced")
        }
        guard try reader.source.isAtEnd() else { throw ArchiveError(.damaged, "unexpected bytes after the end marker") }
    }
}
