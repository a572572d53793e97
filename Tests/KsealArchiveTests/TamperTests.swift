import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Every modification of an archive is detected, and extraction never presents wrong content.
final class TamperTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var tree: String!
    private var archive: String!
    private var original: [UInt8] = []
    private var regions: Regions!
    nonisolated(unsafe) static var tried = 0
    nonisolated(unsafe) static var detected = 0

    override class func tearDown() {
        print("tamper cases: \(tried) tried, \(detected) detected by verify, extraction wrote no wrong byte in any")
    }

    // XCTest keeps every test case object to the end of the run: drop the scratch directory
    // (which its deinit removes) when the test ends, not never.
    override func tearDown() {
        scratch = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        scratch = try ScratchDirectory()
        tree = try scratch.sub("t")
        var random = TestRandom(seed: 77)
        for i in 0..<6 { try Fixture.write(random.bytes(150_000 + i), to: tree + "/file\(i)") }
        try Fixture.write(Array(String(repeating: "text ", count: 5000).utf8), to: tree + "/text")
        archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["t"], in: scratch.path)
        original = try Fixture.bytes(archive)
        regions = try Regions(archive: archive)
        XCTAssertGreaterThanOrEqual(regions.frames.count, 12)
    }

    /// Verify must fail; extract must write no wrong byte and leave no temporary file.
    private func assertDetected(_ damaged: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = scratch.path + "/damaged.kseal"
        try Fixture.write(damaged, to: path)
        Self.tried += 1
        do {
            let report = try Fixture.verify(path)
            if !report.isIntact { Self.detected += 1 }
            XCTAssertFalse(report.isIntact, "verify accepted: \(what)", file: file, line: line)
            XCTAssertTrue(!report.damagedFiles.isEmpty || !report.archiveProblems.isEmpty, "no problem named: \(what)", file: file, line: line)
        } catch let error as ArchiveError {
            Self.detected += 1
            XCTAssertTrue([.damaged, .wrongKey, .unsupported].contains(error.code), "\(what): \(error.code) \(error)", file: file, line: line)
            XCTAssertFalse(error.message.isEmpty, file: file, line: line)
        }
        let out = try scratch.sub("out-\(UUID().uuidString)")
        _ = try? Fixture.extract(path, to: out)
        let extracted = try TreeSnapshot(of: out, includeDirectoryMtimes: false)
        let source = try TreeSnapshot(of: scratch.path + "/t")
        for (name, node) in extracted.nodes where node.kind == "file" {
            let relative = Array(name.dropFirst(2))  // "t/…"
            XCTAssertEqual(node.content, source.nodes[relative]?.content, "\(what): wrong content in \(String(decoding: name, as: UTF8.self))", file: file, line: line)
        }
        let leftovers = try shell("find '\(out)' -name '*.kseal-part' | wc -l").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(leftovers, "0", "\(what): temporary files left", file: file, line: line)
    }

    func testOneFlippedByteInEveryRegion() throws {
        let frames = regions.frames
        let positions: [(String, Int)] = [
            ("header magic", 0), ("header version", 8), ("header archive id", 20), ("header commitment", 60), ("header chunk size", 81),
            ("header index length", 90), ("header frame count", 104), ("header frames length", 113),
            ("slot kind", regions.slot.lowerBound), ("slot body", regions.slot.lowerBound + 10), ("slot tag", regions.slot.upperBound - 1),
            ("header MAC", regions.mac.lowerBound + 5), ("index start", regions.index.lowerBound), ("index end", regions.index.upperBound - 1),
            ("first frame start", frames[0].lowerBound), ("first frame tag", frames[0].upperBound - 1),
            ("middle frame", frames[frames.count / 2].lowerBound + 1000), ("last frame", frames[frames.count - 1].lowerBound + 7),
            ("last frame tag", frames[frames.count - 1].upperBound - 1), ("end marker magic", regions.end.lowerBound),
            ("end marker length", regions.end.upperBound - 1),
        ]
        for (what, position) in positions {
            var damaged = original
            damaged[position] ^= 0x04
            try assertDetected(damaged, "flipped \(what) at \(position)")
        }
    }

    func testTruncationAtEveryBoundaryAndInside() throws {
        var cuts = [0, 1, 127, 128, regions.slot.upperBound, regions.mac.upperBound, regions.index.lowerBound + 3, regions.index.upperBound,
                    regions.end.lowerBound, regions.end.upperBound - 1]
        cuts += regions.frames.flatMap { [$0.lowerBound, $0.lowerBound + 100] }
        var random = TestRandom(seed: 3)
        cuts += (0..<10).map { _ in Int(random.next() % UInt64(original.count)) }
        XCTAssertEqual(regions.end.upperBound, original.count)
        for cut in cuts where cut < original.count { try assertDetected(Array(original.prefix(cut)), "truncated to \(cut) of \(original.count) bytes") }
    }

    func testAppendedBytes() throws {
        try assertDetected(original + [0], "one byte appended")
        try assertDetected(original + original, "archive appended to itself")
    }

    func testSwappedFrames() throws {
        // file0's first chunk and file1's first chunk: both full 128 KiB random chunks, same length.
        let a = regions.frames[0], b = regions.frames[2]
        XCTAssertEqual(a.count, b.count)
        var swapped = original
        swapped.replaceSubrange(a, with: original[b])
        swapped.replaceSubrange(b, with: original[a])
        try assertDetected(swapped, "frames 0 and 2 swapped")
    }

    /// Frames and index taken from another archive of the same tree under the same key file.
    func testPartsFromAnotherArchiveUnderTheSameKey() throws {
        let other = scratch.path + "/other.kseal"
        try Fixture.create(other, inputs: ["t"], in: scratch.path)
        let otherBytes = try Fixture.bytes(other)
        let otherRegions = try Regions(archive: other)
        XCTAssertEqual(otherRegions.frames.map(\.count), regions.frames.map(\.count))
        var mixed = original
        mixed.replaceSubrange(regions.frames[1], with: otherBytes[otherRegions.frames[1]])
        try assertDetected(mixed, "frame 1 from another archive")
        XCTAssertEqual(otherRegions.index.count, regions.index.count)
        var index = original
        index.replaceSubrange(regions.index, with: otherBytes[otherRegions.index])
        try assertDetected(index, "index from another archive")
        var front = original
        front.replaceSubrange(0..<regions.index.upperBound, with: otherBytes[0..<otherRegions.index.upperBound])
        try assertDetected(front, "header, slot and index from another archive")
    }

    func testWrongKeyIsReportedAtTheSlot() throws {
        XCTAssertThrowsError(try ArchiveReader(.file(archive), keyFile: Fixture.otherKey, backend: UserspaceBackend())) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .wrongKey, "\($0)")
        }
    }

    func testNotAnArchive() throws {
        try assertDetected(Array("this is not an archive at all, just some text that is long enough for a header".utf8) + [UInt8](repeating: 0, count: 200),
                           "text file")
        try assertDetected([], "empty file")
    }
}
