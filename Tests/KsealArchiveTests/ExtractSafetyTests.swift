import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Extraction never writes outside its target, whatever the archive or the target holds.
final class ExtractSafetyTests: XCTestCase {
    func testPathRules() {
        for good in ["a", "a/b", "a/b/c.txt", ".hidden", "a/..b", "a/b.", String(repeating: "x", count: 255)] {
            XCTAssertNoThrow(try EntryPath.validate(Array(good.utf8)), good)
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a/..", ".", "./a", "a/./b", "a//b", "a/", String(repeating: "x", count: 256),
                    String(repeating: "a/", count: 2048) + "a"] {
            XCTAssertThrowsError(try EntryPath.validate(Array(bad.utf8)), bad) {
                XCTAssertEqual(($0 as? ArchiveError)?.code, .unsafe)
            }
        }
        XCTAssertThrowsError(try EntryPath.validate([0x61, 0, 0x62]))
    }

    func testInputPathsAreStoredRelativeAndDotDotIsRefused() throws {
        XCTAssertEqual(try ArchiveWriter.storedName(for: Array("/etc/./hosts".utf8)), Array("etc/hosts".utf8))
        XCTAssertEqual(try ArchiveWriter.storedName(for: Array("./a//b/".utf8)), Array("a/b".utf8))
        XCTAssertEqual(try ArchiveWriter.storedName(for: Array(".".utf8)), [])
        XCTAssertThrowsError(try ArchiveWriter.storedName(for: Array("a/../b".utf8)))
    }

    /// A symlink already in the target where the archive has a directory: refused, nothing written
    /// where it points, and the rest of the archive still restored.
    func testExistingSymlinkInTheTargetIsNeverFollowed() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("src")
        try FileManager.default.createDirectory(atPath: tree + "/sub", withIntermediateDirectories: true)
        try Fixture.write(Array("inside".utf8), to: tree + "/sub/file")
        try Fixture.write(Array("top".utf8), to: tree + "/top")
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["src"], in: scratch.path)

        let outside = try scratch.sub("outside")
        let target = try scratch.sub("target")
        try FileManager.default.createDirectory(atPath: target + "/src", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: target + "/src/sub", withDestinationPath: outside)
        let report = try Fixture.extract(archive, to: target)
        XCTAssertFalse(report.refused.isEmpty, "\(report)")
        XCTAssertTrue(report.refused.allSatisfy { $0.reason.contains("symbolic link") }, "\(report.refused)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "nothing written through the link")
        XCTAssertEqual(try String(contentsOfFile: target + "/src/top", encoding: .utf8), "top")
    }

    /// A symlink in the archive replaces what is at its name and is never followed by later entries.
    func testArchivedSymlinkReplacesAndIsNotFollowed() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("src")
        try FileManager.default.createSymbolicLink(atPath: tree + "/link", withDestinationPath: "/etc")
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["src"], in: scratch.path)
        let target = try scratch.sub("target")
        try FileManager.default.createDirectory(atPath: target + "/src", withIntermediateDirectories: true)
        try Fixture.write(Array("old".utf8), to: target + "/src/link")
        let report = try Fixture.extract(archive, to: target)
        XCTAssertTrue(report.isComplete, "\(report)")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: target + "/src/link"), "/etc")
    }

    /// Selecting one path extracts just it; a path not in the archive is a usage error.
    func testSelection() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("src")
        try FileManager.default.createDirectory(atPath: tree + "/a", withIntermediateDirectories: true)
        try Fixture.write(Array("1".utf8), to: tree + "/a/one")
        try Fixture.write(Array("1".utf8), to: tree + "/two")  // same content: dedup across the selection boundary
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["src"], in: scratch.path)
        let target = try scratch.sub("target")
        var options = ExtractOptions()
        options.selection = [Array("src/two".utf8)]
        XCTAssertTrue(try Fixture.extract(archive, to: target, options: options).isComplete)
        XCTAssertEqual(try String(contentsOfFile: target + "/src/two", encoding: .utf8), "1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: target + "/src/a"))
        options.selection = [Array("src/missing".utf8)]
        XCTAssertThrowsError(try Fixture.extract(archive, to: target, options: options)) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .usage)
        }
    }
}
