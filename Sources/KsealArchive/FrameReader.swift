import Dispatch
import Foundation
import KsealCrypto

/// Reads, authenticates, decompresses and hash-checks frames in order (spec §8 step 7), then the
/// end marker (step 8).
///
/// Frames are read from the archive one after another, a batch at a time, and the batch is
/// decoded on all cores at once: each worker has its own AEAD context (on the kernel backend its
/// own AF_ALG operation socket), SHA-256 context and zstd context. Results are handed out in
/// order. Memory is bounded by the batch: three chunk-sized buffers per slot, two slots per
/// worker, whatever the archive's size.
public final class FrameReader {
    private let reader: ArchiveReader
    private let opening: Set<Int>?
    private let decoders: [FrameDecoder]
    private let slots: [FrameSlot]
    private let checker: any DigestContext
    private var batchStart = 0
    private var batchCount = 0
    private var cursor = 0
    private var current: FrameSlot?
    public private(set) var nextOrdinal = 0
    /// Set once the input ended early.
    public private(set) var truncation: ArchiveError?
    /// The first frame the input ended inside; it and every later frame are missing.
    public private(set) var firstMissing: Int?
    /// Told the plaintext length of every frame passed.
    public var progress: ProgressMeter?

    /// Workers for decoding: the cores this process may use, at most 8.
    static var defaultWorkers: Int {
        if let forced = ProcessInfo.processInfo.environment["KSEAL_WORKERS"].flatMap(Int.init), forced > 0 { return min(forced, 64) }
        return max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
    }

    init(_ reader: ArchiveReader, opening: Set<Int>?, workers: Int = FrameReader.defaultWorkers) throws {
        self.reader = reader
        self.opening = opening
        do {
            let key = try reader.backend.aes256GCM(key: reader.subkeys.chunk)
            decoders = try (0..<workers).map { _ in try FrameDecoder(reader: reader, key: key) }
            checker = try reader.backend.makeSHA256()
        } catch let error as CryptoError { throw ArchiveError.crypto(error, "opening frames") }
        let size = Int(reader.header.chunkSize)
        slots = (0..<(workers * 2)).map { _ in FrameSlot(chunkSize: size) }
    }

    /// The verified plaintext of the frame last returned by ``next()``.
    public var plain: UnsafeMutableRawBufferPointer { current!.plain }

    /// Moves to the next frame. An opened frame's verified plaintext is then in ``plain``; a
    /// frame not in `opening` is only read past.
    /// - Returns: the frame's plaintext length.
    /// - Throws: ``ArchiveError`` `.damaged` for this frame (later frames stay readable), or the
    ///   truncation error for this and every later frame.
    @discardableResult
    public func next() throws -> Int {
        if cursor == batchCount { try fillBatch() }
        let slot = slots[cursor]
        cursor += 1
        nextOrdinal += 1
        current = slot
        progress?.advance(by: reader.index.chunks[slot.ordinal].plainLength)
        switch slot.result {
        case .success(let count): return count
        case .failure(let error): throw error
        }
    }

    /// Reads the next batch of frames and decodes it in parallel.
    private func fillBatch() throws {
        let chunks = reader.index.chunks
        batchStart = nextOrdinal
        batchCount = min(slots.count, chunks.count - batchStart)
        precondition(batchCount > 0, "next() after the last frame")
        cursor = 0
        for i in 0..<batchCount {
            let ordinal = batchStart + i
            let slot = slots[i]
            slot.ordinal = ordinal
            slot.open = opening?.contains(ordinal) ?? true
            if let truncation {
                slot.result = .failure(truncation)
                continue
            }
            do {
                try reader.source.read(into: UnsafeMutableRawBufferPointer(rebasing: slot.sealed[0..<chunks[ordinal].sealedLength]),
                                       what: "frame \(ordinal)")
                slot.result = .success(chunks[ordinal].plainLength)
            } catch let error as ArchiveError where error.code == .damaged {
                truncation = error
                firstMissing = ordinal
                slot.result = .failure(error)
            }
        }
        let workers = min(decoders.count, batchCount)
        let work = BatchWork(decoders: decoders, slots: slots, count: batchCount, workers: workers)
        if workers == 1 {
            work.run(worker: 0)
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { work.run(worker: $0) }
        }
    }

    /// Checks plaintext against the index's SHA-256 for chunk `ordinal` (for copies of
    /// deduplicated chunks read back from extracted files). Not for use while a batch decodes.
    func checkHash(_ data: UnsafeRawBufferPointer, ordinal: Int) throws {
        try FrameDecoder.checkHash(data, ordinal: ordinal, expected: reader.index.chunks[ordinal].sha256, sha256: checker)
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

/// One frame in a batch: its buffers and its outcome.
final class FrameSlot {
    let sealed: UnsafeMutableRawBufferPointer
    let stored: UnsafeMutableRawBufferPointer
    let plain: UnsafeMutableRawBufferPointer
    var ordinal = 0
    var open = true
    var result: Result<Int, ArchiveError> = .success(0)

    init(chunkSize: Int) {
        sealed = .allocate(byteCount: chunkSize + FormatV1.tagSize, alignment: 64)
        stored = .allocate(byteCount: chunkSize, alignment: 64)
        plain = .allocate(byteCount: chunkSize, alignment: 64)
    }

    deinit {
        sealed.deallocate()
        stored.deallocate()
        plain.deallocate()
    }
}

/// A batch shared with the worker threads. Safe because worker `w` touches only decoder `w` and
/// the slots `w, w + workers, …`, and the caller waits for all workers before reading results.
private struct BatchWork: @unchecked Sendable {
    let decoders: [FrameDecoder]
    let slots: [FrameSlot]
    let count: Int
    let workers: Int

    func run(worker: Int) {
        for i in stride(from: worker, to: count, by: workers) where slots[i].open {
            if case .success = slots[i].result { decoders[worker].decode(slots[i]) }
        }
    }
}

/// One worker's contexts: AEAD (one AF_ALG operation socket on the kernel backend), SHA-256, zstd.
final class FrameDecoder {
    private let reader: ArchiveReader
    private let aead: any AEADContext
    private let sha256: any DigestContext
    private let decompressor: ZstdDecompressor

    init(reader: ArchiveReader, key: any AEADKey) throws {
        self.reader = reader
        aead = try key.makeContext()
        sha256 = try reader.backend.makeSHA256()
        // Chunks are at most 128 KiB, so a 2^17 window always suffices; larger requests are hostile.
        decompressor = try ZstdDecompressor(windowLogMax: 17)
    }

    /// Authenticates, decompresses and hash-checks the frame in `slot`, recording the outcome.
    func decode(_ slot: FrameSlot) {
        let ordinal = slot.ordinal
        let chunk = reader.index.chunks[ordinal]
        let aad = frameAAD(archiveID: reader.header.archiveID, ordinal: UInt64(ordinal), compression: chunk.compression,
                           plainLength: chunk.plainLength, storedLength: chunk.storedLength, sha256: chunk.sha256)
        let target = chunk.compression == .raw ? slot.plain : slot.stored
        do {
            do {
                _ = try counterNonce(UInt64(ordinal)).withUnsafeBytes { nonce in
                    try aad.withUnsafeBytes {
                        try aead.open(UnsafeRawBufferPointer(rebasing: slot.sealed[0..<chunk.sealedLength]), nonce: nonce, aad: $0, into: target)
                    }
                }
            } catch let error as CryptoError {
                if error.code == .authenticationFailed { throw ArchiveError(.damaged, "frame \(ordinal): authentication failed", cause: error) }
                throw ArchiveError.crypto(error, "frame \(ordinal)")
            }
            let plain = UnsafeMutableRawBufferPointer(rebasing: slot.plain[0..<chunk.plainLength])
            if chunk.compression == .zstd {
                try decompressor.decompress(UnsafeRawBufferPointer(rebasing: slot.stored[0..<chunk.storedLength]), into: plain, what: "frame \(ordinal)")
            }
            try Self.checkHash(UnsafeRawBufferPointer(plain), ordinal: ordinal, expected: chunk.sha256, sha256: sha256)
            slot.result = .success(chunk.plainLength)
        } catch let error as ArchiveError {
            slot.result = .failure(error)
        } catch {
            slot.result = .failure(ArchiveError(.internal, "frame \(ordinal): \(error)"))
        }
    }

    static func checkHash(_ data: UnsafeRawBufferPointer, ordinal: Int, expected: [UInt8], sha256: any DigestContext) throws {
        let digest: [UInt8]
        do { digest = try sha256.digest(data) } catch let error as CryptoError { throw ArchiveError.crypto(error, "hashing frame \(ordinal)") }
        guard digest == expected else { throw ArchiveError(.damaged, "frame \(ordinal): SHA-256 of the content does not match the index") }
    }
}
