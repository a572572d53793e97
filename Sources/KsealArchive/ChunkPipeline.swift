import Dispatch
import KsealCrypto

/// Hashes, deduplicates, compresses and seals the chunks of create on all cores, while keeping
/// the archive exactly what a one-thread writer would produce (spec §6: frames in first-use order).
///
/// Chunks are read into a batch of slots on the calling thread. A full batch goes through four
/// steps: hash (in parallel); deduplicate and number, in order; compress and seal the new chunks
/// (in parallel, each worker with its own AEAD context, which is its own AF_ALG operation socket
/// on the kernel backend, its own SHA-256 and zstd contexts); then write index rows and frames, in
/// order. Index rows are logged and replayed in the order a one-thread writer would insert them,
/// so the SQLite image, and the archive, are byte for byte the same.
final class ChunkPipeline {
    enum Operation {
        case entry(path: [UInt8], kind: EntryKind, mode: UInt32, uid: UInt32, gid: UInt32, mtime: (Int64, Int64), size: Int64, target: [UInt8]?)
        case updateSize(id: Int64, size: Int64)
        case chunk(slot: Int, entry: Int64, sequence: Int)
    }

    private let index: IndexBuilder
    private let frames: SystemFile
    private let archiveID: [UInt8]
    private let workers: [ChunkWorker]
    private let slots: [ChunkSlot]
    private var used = 0
    private var log: [Operation] = []
    private var nextEntryID: Int64 = 1
    private var dedup: [[UInt8]: Int] = [:]
    private(set) var frameCount = 0
    private(set) var framesLength: Int64 = 0
    private(set) var storedBytes: Int64 = 0
    var progress: ProgressMeter?

    init(backend: any CryptoBackend, chunkKey: [UInt8], archiveID: [UInt8], level: Int32, chunkSize: Int, workers: Int,
         index: IndexBuilder, frames: SystemFile) throws {
        self.index = index
        self.frames = frames
        self.archiveID = archiveID
        do {
            let key = try backend.aes256GCM(key: chunkKey)
            self.workers = try (0..<workers).map { _ in try ChunkWorker(backend: backend, key: key, level: level) }
        } catch let error as CryptoError { throw ArchiveError.crypto(error, "setting up encryption") }
        slots = (0..<(workers * 4)).map { _ in ChunkSlot(chunkSize: chunkSize) }
    }

    /// Logs an entry row; returns the id it will have.
    func addEntry(path: [UInt8], kind: EntryKind, mode: UInt32, uid: UInt32, gid: UInt32, mtime: (Int64, Int64), size: Int64,
                  target: [UInt8]?) -> Int64 {
        log.append(.entry(path: path, kind: kind, mode: mode, uid: uid, gid: gid, mtime: mtime, size: size, target: target))
        defer { nextEntryID += 1 }
        return nextEntryID
    }

    func updateSize(of id: Int64, to size: Int64) { log.append(.updateSize(id: id, size: size)) }

    /// Reads the next chunk of `file` into the batch (processing the batch when it is full).
    /// - Returns: the bytes read; less than a chunk only at the end of the file.
    func readChunk(from file: SystemFile, entry: Int64, sequence: Int) throws -> Int {
        if used == slots.count { try flush() }
        let slot = slots[used]
        let count = try file.readFully(into: slot.plain)
        guard count > 0 else { return 0 }
        slot.count = count
        slot.path = file.path
        log.append(.chunk(slot: used, entry: entry, sequence: sequence))
        used += 1
        progress?.advance(by: count)
        return count
    }

    /// Processes what is batched and writes all logged rows.
    func flush() throws {
        // 1. Hash, in parallel.
        try parallel { worker, slot in try worker.hash(slot) }
        // 2. Deduplicate and number, in order of first use.
        for case .chunk(let i, _, _) in log {
            let slot = slots[i]
            if let ordinal = dedup[slot.digest] {
                slot.ordinal = ordinal
                slot.isNew = false
            } else {
                slot.ordinal = frameCount
                slot.isNew = true
                dedup[slot.digest] = frameCount
                frameCount += 1
            }
        }
        // 3. Compress and seal the new chunks, in parallel.
        let archiveID = archiveID
        try parallel { worker, slot in if slot.isNew { try worker.seal(slot, archiveID: archiveID) } }
        // 4. Index rows and frames, in order.
        for operation in log {
            switch operation {
            case .entry(let path, let kind, let mode, let uid, let gid, let mtime, let size, let target):
                try index.addEntry(path: path, kind: kind, mode: mode, uid: uid, gid: gid, mtime: mtime, size: size, target: target)
            case .updateSize(let id, let size):
                try index.updateSize(of: id, to: size)
            case .chunk(let i, let entry, let sequence):
                let slot = slots[i]
                if slot.isNew {
                    let record = ChunkRecord(plainLength: slot.count, storedLength: slot.storedCount, compression: slot.compression, sha256: slot.digest,
                                             frameOffset: framesLength)
                    try index.addChunk(ordinal: slot.ordinal, record)
                    try frames.writeAll(UnsafeRawBufferPointer(rebasing: slot.sealed[0..<slot.sealedCount]))
                    framesLength += Int64(slot.sealedCount)
                    storedBytes += Int64(slot.storedCount)
                }
                try index.addFileChunk(entry: entry, sequence: sequence, ordinal: slot.ordinal)
            }
        }
        log.removeAll(keepingCapacity: true)
        used = 0
    }

    /// Runs `body` on every batched slot, spread over the workers; rethrows the first error.
    private func parallel(_ body: @escaping (ChunkWorker, ChunkSlot) throws -> Void) throws {
        let work = ChunkWork(workers: workers, slots: slots, count: used, body: body)
        let threads = min(workers.count, used)
        if threads <= 1 { work.run(0, threads: 1) } else { DispatchQueue.concurrentPerform(iterations: threads) { work.run($0, threads: threads) } }
        if let error = slots[0..<used].lazy.compactMap(\.error).first { throw error }
    }
}

/// One chunk in a batch: its buffers and what the steps found.
final class ChunkSlot {
    let plain: UnsafeMutableRawBufferPointer
    let compressed: UnsafeMutableRawBufferPointer
    let sealed: UnsafeMutableRawBufferPointer
    var count = 0
    var path = ""
    var digest: [UInt8] = []
    var ordinal = 0
    var isNew = false
    var compression = FrameCompression.raw
    var storedCount = 0
    var sealedCount = 0
    var error: (any Error)?

    init(chunkSize: Int) {
        plain = .allocate(byteCount: chunkSize, alignment: 64)
        compressed = .allocate(byteCount: chunkSize, alignment: 64)
        sealed = .allocate(byteCount: chunkSize + FormatV1.tagSize, alignment: 64)
    }

    deinit {
        plain.deallocate()
        compressed.deallocate()
        sealed.deallocate()
    }
}

/// A batch shared with worker threads. Safe because thread `t` touches only worker `t` and the
/// slots `t, t + threads, …`, and the caller waits for every thread before reading results.
private struct ChunkWork: @unchecked Sendable {
    let workers: [ChunkWorker]
    let slots: [ChunkSlot]
    let count: Int
    let body: (ChunkWorker, ChunkSlot) throws -> Void

    func run(_ thread: Int, threads: Int) {
        for i in stride(from: thread, to: count, by: threads) {
            do { try body(workers[thread], slots[i]) } catch { slots[i].error = error }
        }
    }
}

/// One worker's contexts for create.
final class ChunkWorker {
    private let aead: any AEADContext
    private let sha256: any DigestContext
    private let compressor: ZstdCompressor

    init(backend: any CryptoBackend, key: any AEADKey, level: Int32) throws {
        aead = try key.makeContext()
        sha256 = try backend.makeSHA256()
        compressor = try ZstdCompressor(level: level)
    }

    func hash(_ slot: ChunkSlot) throws {
        slot.error = nil
        do { slot.digest = try sha256.digest(UnsafeRawBufferPointer(rebasing: slot.plain[0..<slot.count])) } catch let error as CryptoError {
            throw ArchiveError.crypto(error, slot.path)
        }
    }

    /// Compresses (kept only if strictly smaller, spec §7) and seals one new chunk.
    func seal(_ slot: ChunkSlot, archiveID: [UInt8]) throws {
        let chunk = UnsafeRawBufferPointer(rebasing: slot.plain[0..<slot.count])
        let compressedCount = slot.count > 1 ? compressor.compress(chunk, into: UnsafeMutableRawBufferPointer(rebasing: slot.compressed[0..<(slot.count - 1)])) : nil
        slot.compression = compressedCount == nil ? .raw : .zstd
        let stored = compressedCount.map { UnsafeRawBufferPointer(rebasing: slot.compressed[0..<$0]) } ?? chunk
        slot.storedCount = stored.count
        let aad = frameAAD(archiveID: archiveID, ordinal: UInt64(slot.ordinal), compression: slot.compression, plainLength: slot.count,
                           storedLength: stored.count, sha256: slot.digest)
        do {
            slot.sealedCount = try counterNonce(UInt64(slot.ordinal)).withUnsafeBytes { nonce in
                try aad.withUnsafeBytes { try aead.seal(stored, nonce: nonce, aad: $0, into: slot.sealed) }
            }
        } catch let error as CryptoError { throw ArchiveError.crypto(error, slot.path) }
    }
}
