import Foundation
@testable import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Parallel frame decoding: results in order, failures confined to their frame, truncation
/// marking exactly the missing frames, whatever the number of workers.
final class FrameReaderTests: XCTestCase {
    func testParallelDecodingKeepsOrderAndConfinesDamage() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("t")
        var random = TestRandom(seed: 31)
        let content = random.bytes(25 * 131_072 + 77)
        try Fixture.write(content, to: tree + "/f")
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["t"], in: scratch.path)
        let regions = try Regions(archive: archive)
        var bytes = try Fixture.bytes(archive)
        for damaged in [3, 4, 17] { bytes[regions.frames[damaged].lowerBound + 9] ^= 0x20 }
        let cut = regions.frames[22].lowerBound + 5
        try Fixture.write(Array(bytes.prefix(cut)), to: archive)
        // With plaintexts kept (extract) and without (verify: each worker's scratch).
        for (workers, keeping) in [(1, true), (2, true), (3, true), (5, true), (1, false), (2, false), (3, false)] {
            let reader = try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend())
            let frames = try FrameReader(reader, opening: nil, keepingPlaintext: keeping, workers: workers)
            var outcome: [String] = []
            for ordinal in 0..<reader.index.chunkCount {
                do {
                    let count = try frames.next()
                    let expected = content[(ordinal * 131_072)..<min((ordinal + 1) * 131_072, content.count)]
                    outcome.append(!keeping && count == expected.count || keeping && Array(frames.plain[0..<count]) == Array(expected) ? "ok" : "WRONG")
                } catch let error as ArchiveError {
                    outcome.append(error.message.contains("truncated") ? "missing" : "damaged")
                }
            }
            var expected = [String](repeating: "ok", count: 22) + [String](repeating: "missing", count: 4)
            for damaged in [3, 4, 17] { expected[damaged] = "damaged" }
            XCTAssertEqual(outcome, expected, "\(workers) workers, keeping plaintexts: \(keeping)")
            XCTAssertEqual(frames.firstMissing, 22)
        }
    }
}
