import Dispatch
import CSystemShim
#if canImport(Glibc)
import Glibc
#endif
import KsealCrypto

/// Reads, authenticates, decompresses and hash-checks frames in order (spec §8 step 7), then the
/// end marker (step 8). (Verify of an archive in a regular file needs no order: ``FrameChecker``.)
///
/// Frames are read a batch at a time (one read for the whole batch: frames are contiguous) and
/// decoded on all cores, each worker with its own AEAD context (on the kernel backend its own
/// AF_ALG operation socket), SHA-256 and zstd contexts. While the caller consumes one batch
/// (writes files, for extract), a background stage reads and decodes the next, so decryption,
/// decompression and hashing hide behind the caller's file system work. Results are handed out
/// in order.
///
/// Memory: the plaintexts of two batches of `batchChunksKeeping` chunk sizes, and the sealed
/// frames of one (only the stage reads frames, a batch at a time, so the batches share that
/// buffer; compressed frames are opened in place there), whatever the archive's size; less for
/// an archive smaller than that. A reader that does not keep plaintexts (verify from a pipe) has
/// no plain buffers, so its batches hold `batchChunks` sealed chunk sizes: each worker decodes
/// into one chunk of scratch of its own, which is hash-checked and dropped. The
/// first batch is decoded on the caller's thread (the caller waits for it anyway), so an archive
/// whose frames fit one batch never starts the background stage: a small archive pays for no
/// thread, queue or spare buffers (this is what keeps the fuzzer fast).
///
/// Threads: the caller owns the batch it consumes and the fields it reads; the stage owns the
/// archive source while a batch is in flight, and its truncation state travels with each batch.
public final class FrameReader: @unchecked Sendable {
    /// Chunk sizes per batch. Without plaintexts (verify from a pipe), 8, in the one sealed
    /// buffer (1 MiB): verify of 600 MiB of large files took 0.95 s against 1.2 s with 4
    /// (alternating runs). With them (extract), 4, 1.5 MiB in all: extract of the 1 GiB benchmark
    /// corpus into tmpfs took 2.00–2.12 s against 1.90–2.28 s with 8 (4 alternating pairs); 3
    /// saved 0.5 MiB and cost 4 % (median of 5 pairs).
    static let batchChunks = 8
    static let batchChunksKeeping = 4
    /// Frames per batch at most (small files).
    static let batchSlots = 512

    private let reader: ArchiveReader
    private let opening: Set<Int>?
    private let keepsPlaintext: Bool
    private let decoders: [FrameDecoder]
    private let checker: any DigestContext
    /// The index's chunks in ordinal order, read as batches are laid out (on the caller's
    /// thread: the index is not shared), and the next one when it did not fit the last batch.
    private let chunks: ChunkCursor
    private var nextChunk: ChunkRecord?
    private let chunkCount: Int
    /// Created for the second batch; an archive of one batch never needs it.
    private var stage: BackgroundStage?
    private var batches: [FrameBatch]
    /// The sealed frames of the batch being filled, whichever it is.
    private let sealed: UnsafeMutableRawBufferPointer
    /// The batch being consumed, and the one being filled in the background (if any).
    private var current: FrameBatch?
    private var inFlight: FrameBatch?
    /// The first ordinal not yet handed to the stage.
    private var scheduled = 0
    private var cursor = 0
    // Owned by the stage.
    private var stageTruncation: (error: ArchiveError, ordinal: Int)?
    public private(set) var nextOrdinal = 0
    /// Set once the input ended early.
    public private(set) var truncation: ArchiveError?
    /// The first frame the input ended inside; it and every later frame are missing.
    public private(set) var firstMissing: Int?
    /// Told the plaintext length of every frame passed.
    public var progress: ProgressMeter?

    /// Workers for decoding: the cores this process may use, at most 8.
    static var defaultWorkers: Int {
        if let forced = getenv("KSEAL_WORKERS").flatMap({ Int(String(cString: $0)) }), forced > 0 { return min(forced, 64) }
        return max(1, min(Int(kseal_available_cpus()), 8))
    }

    init(_ reader: ArchiveReader, opening: Set<Int>?, keepingPlaintext: Bool = true, workers: Int = FrameReader.defaultWorkers) throws {
        self.reader = reader
        self.opening = opening
        keepsPlaintext = keepingPlaintext
        let size = Int(reader.header.chunkSize)
        chunkCount = reader.index.chunkCount
        chunks = try reader.index.chunks()
        decoders = try FrameDecoder.make(max(1, min(workers, chunkCount)), for: reader, keepsPlaintext: keepingPlaintext)
        do { checker = try reader.backend.makeSHA256() } catch let error as CryptoError { throw ArchiveError.crypto(error, "opening frames") }
        // A batch never needs to hold more than the whole archive's frames.
        let sealedTotal = Int(reader.header.framesLength), plainTotal = keepingPlaintext ? Int(reader.index.uniqueBytes) : 0
        let capacity = min(size * (keepingPlaintext ? Self.batchChunksKeeping : Self.batchChunks), max(sealedTotal, plainTotal))
        let slots = min(Self.batchSlots, chunkCount)
        let fitsOneBatch = chunkCount <= slots && sealedTotal <= capacity && plainTotal <= capacity
        sealed = .allocate(byteCount: capacity + FormatV1.tagSize, alignment: 64)
        batches = (0..<(fitsOneBatch ? 1 : 2)).map { [sealed] _ in FrameBatch(sealed: sealed, plainCapacity: keepingPlaintext ? capacity : 0, slots: slots) }
    }

    // A stage job holds the reader, so none is running here.
    deinit { sealed.deallocate() }

    /// The verified plaintext of the frame last returned by ``next()`` (a reader made
    /// `keepingPlaintext`).
    public var plain: UnsafeMutableRawBufferPointer {
        precondition(keepsPlaintext, "plain of a frame reader that keeps no plaintext")
        let slot = current!.slots[cursor - 1]
        return UnsafeMutableRawBufferPointer(rebasing: current!.plain[slot.plainOffset..<(slot.plainOffset + slot.plainLength)])
    }

    /// Moves to the next frame. An opened frame's verified plaintext is then in ``plain``; a
    /// frame not in `opening` is only read past.
    /// - Returns: the frame's plaintext length.
    /// - Throws: ``ArchiveError`` `.damaged` for this frame (later frames stay readable), or the
    ///   truncation error for this and every later frame.
    @discardableResult
    public func next() throws -> Int {
        if current == nil || cursor == current!.count { try advanceBatch() }
        let slot = current!.slots[cursor]
        cursor += 1
        nextOrdinal += 1
        progress?.advance(by: slot.plainLength)
        switch slot.result {
        case .success(let count): return count
        case .failure(let error): throw error
        }
    }

    /// Takes the batch the stage filled (filling one first if none is in flight) and starts the
    /// stage on the next, into the buffers just consumed.
    private func advanceBatch() throws {
        precondition(nextOrdinal < chunkCount, "next() after the last frame")
        if inFlight == nil { try schedule(inline: true) }
        stage?.wait()
        let ready = inFlight!
        inFlight = nil
        if let error = ready.failure { throw error }
        if let (error, ordinal) = ready.truncation, truncation == nil {
            truncation = error
            firstMissing = ordinal
        }
        current = ready
        cursor = 0
        try schedule()
    }

    /// Lays the next frames (as many as a free batch holds) out in that batch and hands it to
    /// the stage, or fills it right here when `inline`. The batch is neither consumed nor in
    /// flight, so the caller may fill in its slots.
    private func schedule(inline: Bool = false) throws {
        guard scheduled < chunkCount else { return }
        guard let batch = batches.first(where: { $0 !== current }) else {
            preconditionFailure("frames left over after a batch sized for the whole archive")
        }
        var sealedBytes = 0, plainBytes = 0, count = 0
        while scheduled < chunkCount, count < batch.slots.count {
            if nextChunk == nil { nextChunk = try chunks.next() }
            guard let chunk = nextChunk else { throw ArchiveError(.internal, "index: chunk \(scheduled) missing") }
            guard sealedBytes + chunk.sealedLength <= batch.sealed.count, !keepsPlaintext || plainBytes + chunk.plainLength <= batch.plain.count else { break }
            nextChunk = nil
            let slot = batch.slots[count]
            slot.ordinal = scheduled
            slot.chunk = chunk
            slot.open = opening?.contains(scheduled) ?? true
            slot.sealedOffset = sealedBytes
            slot.plainOffset = plainBytes
            slot.plainLength = chunk.plainLength
            sealedBytes += chunk.sealedLength
            plainBytes += chunk.plainLength
            count += 1
            scheduled += 1
        }
        batch.count = count
        batch.sealedBytes = sealedBytes
        batch.failure = nil
        inFlight = batch
        if inline { return fill(batch) }
        if stage == nil { stage = BackgroundStage(label: "kseal.frames") }
        stage!.start { [self] in fill(batch) }
    }

    /// On the stage: reads the batch's frames and decodes them in parallel. From a regular file
    /// each worker reads its own frames (`pread`), so reading is spread over the cores and a
    /// frame that is not opened is not read at all; from a pipe the batch is one read first.
    private func fill(_ batch: FrameBatch) {
        var available = 0
        var region: ByteSource.Region?
        if stageTruncation == nil {
            do {
                let target = UnsafeMutableRawBufferPointer(rebasing: batch.sealed[0..<batch.sealedBytes])
                region = try reader.source.takeRegion(batch.sealedBytes, copyingBufferedInto: target)
                available = try region?.available ?? reader.source.readAvailable(into: target)
            } catch let error as ArchiveError {
                batch.failure = error
                return
            } catch {
                batch.failure = ArchiveError(.internal, "reading frames: \(error)")
                return
            }
        }
        for slot in batch.slots[0..<batch.count] {
            let end = slot.sealedOffset + slot.chunk!.sealedLength
            if stageTruncation == nil && end > available {
                stageTruncation = (reader.source.truncated("frame \(slot.ordinal)"), slot.ordinal)
            }
            if let (error, _) = stageTruncation {
                slot.result = .failure(error)
            } else {
                slot.result = .success(slot.plainLength)
            }
        }
        batch.truncation = stageTruncation
        let decoders = decoders
        runInParallel(items: batch.count, workers: decoders.count) { w, i in
            let slot = batch.slots[i]
            guard slot.open, case .success = slot.result else { return }
            if let region { Self.read(slot, in: batch, from: region) }
            if case .success = slot.result { decoders[w].decode(slot, in: batch) }
        }
    }

    /// A worker's own read of its frame's bytes that were not read ahead.
    private static func read(_ slot: FrameSlot, in batch: FrameBatch, from region: ByteSource.Region) {
        let start = max(slot.sealedOffset, region.buffered), end = slot.sealedOffset + slot.chunk!.sealedLength
        guard start < end else { return }
        if let error = region.read(into: UnsafeMutableRawBufferPointer(rebasing: batch.sealed[start..<end]), from: start, frame: slot.ordinal) {
            slot.result = .failure(error)
        }
    }

    /// Checks plaintext against the index's SHA-256 for chunk `ordinal` (for copies of
    /// deduplicated chunks read back from extracted files), on the caller's own context.
    func checkHash(_ data: UnsafeRawBufferPointer, ordinal: Int) throws {
        try FrameDecoder.checkHash(data, ordinal: ordinal, expected: try reader.index.chunk(ordinal).sha256, sha256: checker)
    }

    /// After the last frame: the end marker, then end of input (spec §8 step 8).
    public func finish() throws {
        stage?.wait()
        if let truncation { throw truncation }
        precondition(nextOrdinal == chunkCount, "finish() before the last frame")
        try Self.readEnd(of: reader)
    }

    /// The end marker, then end of input (spec §8 step 8), read once the frames were.
    static func readEnd(of reader: ArchiveReader) throws {
        let marker = try reader.source.read(FormatV1.endMarkerSize, what: "the end marker")
        guard marker == endMarker(framesLength: reader.header.framesLength) else {
            throw ArchiveError(.damaged, "end marker damaged or misplaced")
        }
        guard try reader.source.isAtEnd() else { throw ArchiveError(.damaged, "unexpected bytes after the end marker") }
    }
}

/// Frames packed into one buffer as read (the reader's, shared: it holds the frames of the batch
/// being filled only), and their plaintexts packed into another.
final class FrameBatch: @unchecked Sendable {
    let sealed: UnsafeMutableRawBufferPointer
    let plain: UnsafeMutableRawBufferPointer
    let slots: [FrameSlot]
    var count = 0
    /// The sealed length of the batch's frames, which follow one another in the archive.
    var sealedBytes = 0
    /// A read error that stops everything.
    var failure: ArchiveError?
    /// The truncation found by this batch or an earlier one: the error and the first missing frame.
    var truncation: (ArchiveError, Int)?

    init(sealed: UnsafeMutableRawBufferPointer, plainCapacity: Int, slots: Int) {
        self.sealed = sealed
        plain = .allocate(byteCount: plainCapacity, alignment: 64)
        self.slots = (0..<slots).map { _ in FrameSlot() }
    }

    deinit { plain.deallocate() }
}

/// One frame in a batch: where it is and its outcome.
final class FrameSlot {
    var ordinal = 0
    var chunk: ChunkRecord?
    var open = true
    var sealedOffset = 0
    var plainOffset = 0
    var plainLength = 0
    var result: Result<Int, ArchiveError> = .success(0)
}

/// One worker's contexts: AEAD (one AF_ALG operation socket on the kernel backend), SHA-256,
/// zstd and, for a reader that keeps no plaintexts, scratch for the plaintext. A compressed
/// frame is opened in place, over its own sealed bytes, and decompressed from there.
final class FrameDecoder {
    private let reader: ArchiveReader
    private let aead: any AEADContext
    private let sha256: any DigestContext
    private let decompressor: ZstdDecompressor
    private let plainScratch: UnsafeMutableRawBufferPointer?

    init(reader: ArchiveReader, key: any AEADKey, chunkSize: Int, keepsPlaintext: Bool) throws {
        self.reader = reader
        aead = try key.makeContext()
        sha256 = try reader.backend.makeSHA256()
        // Chunks are at most 128 KiB, so a 2^17 window always suffices; larger requests are hostile.
        decompressor = try ZstdDecompressor(windowLogMax: 17)
        plainScratch = keepsPlaintext ? nil : .allocate(byteCount: chunkSize, alignment: 64)
    }

    deinit { plainScratch?.deallocate() }

    /// `count` decoders of `reader`'s frames, one per worker, sharing one AEAD key.
    static func make(_ count: Int, for reader: ArchiveReader, keepsPlaintext: Bool) throws -> [FrameDecoder] {
        do {
            let key = try reader.backend.aes256GCM(key: reader.subkeys.chunk)
            return try (0..<count).map { _ in
                try FrameDecoder(reader: reader, key: key, chunkSize: Int(reader.header.chunkSize), keepsPlaintext: keepsPlaintext)
            }
        } catch let error as CryptoError { throw ArchiveError.crypto(error, "opening frames") }
    }

    /// Authenticates, decompresses and hash-checks the frame in `slot`, recording the outcome.
    func decode(_ slot: FrameSlot, in batch: FrameBatch) {
        let chunk = slot.chunk!
        let plain = plainScratch == nil ? UnsafeMutableRawBufferPointer(rebasing: batch.plain[slot.plainOffset..<(slot.plainOffset + chunk.plainLength)]) : nil
        slot.result = decode(ordinal: slot.ordinal, chunk: chunk,
                             sealed: UnsafeMutableRawBufferPointer(rebasing: batch.sealed[slot.sealedOffset..<(slot.sealedOffset + chunk.sealedLength)]),
                             into: plain)
    }

    /// Authenticates, decompresses and hash-checks frame `ordinal`, whose sealed bytes are
    /// `sealed`, into `plain` (nil: this decoder's own scratch, for a reader that keeps no
    /// plaintexts). A compressed frame is opened over `sealed` itself (the AEAD contract allows
    /// it), so `sealed` holds garbage afterwards.
    /// - Returns: the plaintext length, or the frame's damage.
    func decode(ordinal: Int, chunk: ChunkRecord, sealed: UnsafeMutableRawBufferPointer, into plain: UnsafeMutableRawBufferPointer?) -> Result<Int, ArchiveError> {
        let aad = frameAAD(version: reader.header.version, archiveID: reader.header.archiveID, ordinal: UInt64(ordinal), compression: chunk.compression,
                           plainLength: chunk.plainLength, storedLength: chunk.storedLength, sha256: chunk.sha256)
        let plain = plain ?? UnsafeMutableRawBufferPointer(rebasing: plainScratch![0..<chunk.plainLength])
        let target = chunk.compression == .raw ? plain : UnsafeMutableRawBufferPointer(rebasing: sealed[0..<chunk.storedLength])
        do {
            do {
                _ = try counterNonce(UInt64(ordinal)).withUnsafeBytes { nonce in
                    try aad.withUnsafeBytes { try aead.open(UnsafeRawBufferPointer(sealed), nonce: nonce, aad: $0, into: target) }
                }
            } catch let error as CryptoError {
                if error.code == .authenticationFailed { throw ArchiveError(.damaged, "frame \(ordinal): authentication failed", cause: error) }
                throw ArchiveError.crypto(error, "frame \(ordinal)")
            }
            if chunk.compression == .zstd {
                try decompressor.decompress(UnsafeRawBufferPointer(target), into: plain, what: "frame \(ordinal)")
            }
            try Self.checkHash(UnsafeRawBufferPointer(plain), ordinal: ordinal, expected: chunk.sha256, sha256: sha256)
            return .success(chunk.plainLength)
        } catch let error as ArchiveError {
            return .failure(error)
        } catch {
            return .failure(ArchiveError(.internal, "frame \(ordinal): \(error)"))
        }
    }

    static func checkHash(_ data: UnsafeRawBufferPointer, ordinal: Int, expected: [UInt8], sha256: any DigestContext) throws {
        let digest: [UInt8]
        do { digest = try sha256.digest(data) } catch let error as CryptoError { throw ArchiveError.crypto(error, "hashing frame \(ordinal)") }
        guard digest == expected else { throw ArchiveError(.damaged, "frame \(ordinal): SHA-256 of the content does not match the index") }
    }
}
