import Foundation
@testable import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Verify of an archive file checks frames on all cores in any order (FrameChecker); from a pipe,
/// in order (FrameReader). Both must report the same about the same bytes: intact, damaged
/// frames, truncation anywhere, bytes appended.
final class FrameCheckerTests: XCTestCase {
    private func reports(_ bytes: [UInt8], in scratch: ScratchDirectory) throws -> (anyOrder: VerifyReport, inOrder: VerifyReport) {
        let path = scratch.path + "/variant.kseal"
        try Fixture.write(bytes, to: path)
        let open = { try ArchiveReader(.file(path), keyFile: Fixture.key, backend: UserspaceBackend()) }
        return (try Verifier.verify(open(), progress: nil, inOrder: false), try Verifier.verify(open(), progress: nil, inOrder: true))
    }

    private func assertSame(_ pair: (anyOrder: VerifyReport, inOrder: VerifyReport), _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        let (a, b) = pair
        XCTAssertEqual(a.frames, b.frames, what, file: file, line: line)
        XCTAssertEqual(a.framesFailed, b.framesFailed, what, file: file, line: line)
        XCTAssertEqual(a.files, b.files, what, file: file, line: line)
        XCTAssertEqual(a.damagedFiles.map(\.path), b.damagedFiles.map(\.path), what, file: file, line: line)
        XCTAssertEqual(a.damagedFiles.map(\.reason), b.damagedFiles.map(\.reason), what, file: file, line: line)
        XCTAssertEqual(a.archiveProblems, b.archiveProblems, what, file: file, line: line)
    }

    func testBothWaysReportTheSame() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("tree")
        var random = TestRandom(seed: 21)
        for i in 0..<60 { try Fixture.write(random.bytes(i % 7 == 0 ? 300_000 : 700 + i * 97), to: tree + "/f\(i)") }
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["tree"], in: scratch.path)
        let original = try Fixture.bytes(archive)
        let regions = try Regions(archive: archive)
        XCTAssertGreaterThan(regions.frames.count, 60)

        let intact = try reports(original, in: scratch)
        XCTAssertTrue(intact.anyOrder.isIntact)
        assertSame(intact, "intact")

        var damaged = original
        for frame in regions.frames.enumerated().filter({ $0.offset % 9 == 4 }).map(\.element) { damaged[frame.lowerBound + 5] ^= 1 }
        let flipped = try reports(damaged, in: scratch)
        XCTAssertGreaterThan(flipped.anyOrder.framesFailed, 5)
        assertSame(flipped, "flipped bytes in every ninth frame")

        var cuts = regions.frames.flatMap { [$0.lowerBound, $0.lowerBound + 17, $0.upperBound - 1] }
        cuts += [regions.end.lowerBound, regions.end.upperBound - 1]
        for cut in cuts.enumerated().filter({ $0.offset % 5 == 0 || $0.offset >= cuts.count - 4 }).map(\.element) {
            let truncated = try reports(Array(original.prefix(cut)), in: scratch)
            XCTAssertFalse(truncated.anyOrder.isIntact, "cut at \(cut)")
            assertSame(truncated, "cut at \(cut) of \(original.count)")
        }
        assertSame(try reports(original + [0, 1, 2], in: scratch), "bytes appended")
    }
}
