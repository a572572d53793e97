import Foundation
@testable import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// The pipelined writer and reader across many batches: small files (more than a batch's slots),
/// large files (more than a batch's bytes) and duplicates whose first copy is in an earlier
/// batch, which the compress stage may or may not yet know about.
final class ChunkPipelineTests: XCTestCase {
    /// A tree of `smallFiles` tiny files (every tenth a copy of an earlier one) and three large
    /// files, the third a copy of the first; returns the number of distinct chunks.
    private func makeTree(at tree: String, smallFiles: Int) throws -> Int {
        var random = TestRandom(seed: 5)
        var distinct = Set<[UInt8]>()
        var small: [[UInt8]] = []
        for i in 0..<smallFiles {
            let content = i % 10 == 9 ? small[i / 3] : random.bytes(1 + Int(random.next() % 3000))
            small.append(content)
            distinct.insert(content)
            try Fixture.write(content, to: tree + "/s\(i / 100)-\(i)")
        }
        let first = random.bytes(ChunkPipeline.batchChunks * 131_072 * 2 + 12_345)
        let second = (0..<(ChunkPipeline.batchChunks * 131_072 + 99)).map { UInt8(truncatingIfNeeded: $0 / 7) }
        for (name, content) in [("big1", first), ("big2", second), ("big3", first)] {
            try Fixture.write(content, to: tree + "/" + name)
            for start in stride(from: 0, to: content.count, by: 131_072) {
                distinct.insert(Array(content[start..<min(start + 131_072, content.count)]))
            }
        }
        return distinct.count
    }

    func testManyBatchesGiveTheSameArchiveForAnyWorkerCount() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("t")
        let distinct = try makeTree(at: tree, smallFiles: ChunkPipeline.batchSlots * 3 + 17)
        var options = CreateOptions()
        options.secrets = ArchiveSecrets(dataKey: Array(repeating: 7, count: 32), archiveID: Array(repeating: 9, count: 32))
        var archives: [[UInt8]] = []
        // 1 to 3 workers; then 2 with a filter of stored chunks so small that it says "may be
        // stored" of nearly every new chunk, which must be looked up, found new and compressed
        // by the write stage: the same archive all the same.
        for (workers, filterBits) in [(1, StoredChunkFilter.defaultBitCount), (2, StoredChunkFilter.defaultBitCount), (3, StoredChunkFilter.defaultBitCount), (2, 64)] {
            options.workers = workers
            options.storedChunkFilterBits = filterBits
            let archive = scratch.path + "/w\(workers)-\(filterBits).kseal"
            let summary = try Fixture.create(archive, inputs: ["t"], in: scratch.path, options: options)
            XCTAssertEqual(summary.frames, distinct, "each distinct chunk stored once (\(workers) workers, filter of \(filterBits) bits)")
            archives.append(try Fixture.bytes(archive))
        }
        for i in 1..<archives.count { XCTAssertEqual(archives[0], archives[i], "archive \(i)") }
        try Fixture.roundTrip(tree, name: "many", scratch: scratch)
    }

    /// Truncation inside a later batch of small frames marks exactly the frames from there on.
    func testTruncationInALaterBatchOfSmallFrames() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("t")
        var random = TestRandom(seed: 8)
        let files = FrameReader.batchSlots * 2 + 40
        for i in 0..<files { try Fixture.write(random.bytes(100 + i % 50), to: tree + "/f\(i / 100)-\(i)") }
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["t"], in: scratch.path)
        let regions = try Regions(archive: archive)
        let missingFrom = FrameReader.batchSlots + 300
        let bytes = try Fixture.bytes(archive)
        try Fixture.write(Array(bytes.prefix(regions.frames[missingFrom].lowerBound + 3)), to: archive)
        for workers in [1, 2] {
            let reader = try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend())
            let frames = try FrameReader(reader, opening: nil, workers: workers)
            var firstFailure: Int?
            var failures = 0
            for ordinal in 0..<reader.index.chunkCount {
                do { try frames.next() } catch let error as ArchiveError {
                    XCTAssertTrue(error.message.contains("truncated"), error.message)
                    if firstFailure == nil { firstFailure = ordinal }
                    failures += 1
                }
            }
            XCTAssertEqual(firstFailure, missingFrom, "\(workers) workers")
            XCTAssertEqual(failures, reader.index.chunkCount - missingFrom)
            XCTAssertEqual(frames.firstMissing, missingFrom)
            XCTAssertThrowsError(try frames.finish())
        }
    }
}
