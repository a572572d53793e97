import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

final class RoundTripTests: XCTestCase {
    /// The edge cases a serious archiver must get right, in one tree.
    func testEdgeCaseTree() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("tree")
        let chunk = FormatV1.defaultChunkSize
        var random = TestRandom(seed: 99)
        try shell("""
            cd '\(tree)' && mkdir -p empty-dir deep/a/b/c && : > empty-file && printf 'x' > one-byte \
            && ln -s one-byte link && ln -s /nonexistent/target dangling && ln -s ../.. up-link \
            && ln one-byte hard-1 && ln one-byte deep/a/hard-2 && chmod 0751 deep && chmod 0600 one-byte \
            && touch -d '2001-02-03 04:05:06.123456789' one-byte && touch -h -d '1999-12-31 23:59:59.5' link
            """)
        try Fixture.write(random.bytes(chunk * 3), to: tree + "/exact-3-chunks")
        try Fixture.write(random.bytes(chunk * 2 + 1), to: tree + "/2-chunks-plus-1")
        try Fixture.write([UInt8](repeating: 7, count: chunk * 4), to: tree + "/repetitive")
        let long = String(repeating: "n", count: 255)
        try Fixture.write(Array("long".utf8), to: tree + "/" + long)
        // A non-UTF-8 name (Latin-1 "café") and a name with a newline.
        let odd: [UInt8] = Array(tree.utf8) + [47, 0x63, 0x61, 0x66, 0xE9]
        XCTAssertEqual(cPath(odd) { open($0, O_CREAT | O_WRONLY, 0o644) } >= 0, true)
        try Fixture.write(Array("line\nbreak".utf8), to: tree + "/new\nline")
        var path = tree + "/deep/a/b/c"
        while path.utf8.count < 3000 { path += "/" + String(repeating: "d", count: 200); try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        try Fixture.write(Array("deep".utf8), to: path + "/leaf")
        try Fixture.roundTrip(tree, name: "edge", scratch: scratch)
    }

    func testEmptyDirectoryAsTheWholeInput() throws {
        let scratch = try ScratchDirectory()
        try Fixture.roundTrip(try scratch.sub("nothing"), name: "empty", scratch: scratch)
    }

    func testDeduplicationStoresRepeatedContentOnce() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("dups")
        var random = TestRandom(seed: 5)
        let content = random.bytes(500_000)
        for name in ["a", "b", "c"] { try Fixture.write(content, to: tree + "/" + name) }
        let archive = scratch.path + "/d.kseal"
        let summary = try Fixture.create(archive, inputs: ["dups"], in: scratch.path)
        XCTAssertEqual(summary.frames, 4, "500000 bytes are 4 chunks, stored once for three files")
        XCTAssertLessThan(summary.archiveBytes, 520_000)
        XCTAssertTrue(try Fixture.verify(archive).isIntact)
    }

    /// An archive written inside the tree it archives never contains itself or the one it replaces.
    func testTheArchiveIsNeverArchivedIntoItself() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("self")
        try Fixture.write(Array("x".utf8), to: tree + "/f")
        for _ in 0..<2 { try Fixture.create(tree + "/out.kseal", inputs: ["."], in: tree) }
        let reader = try ArchiveReader(.file(tree + "/out.kseal"), keyFile: Fixture.key, backend: UserspaceBackend())
        XCTAssertEqual(try reader.index.allEntries().map { String(decoding: $0.path, as: UTF8.self) }, ["f"])
    }

    /// Inputs that overlap add each path once, whichever comes first, and warn about the rest.
    func testOverlappingInputsAddEachPathOnce() throws {
        let scratch = try ScratchDirectory()
        try shell("cd '\(scratch.path)' && mkdir -p a/b && echo f > a/b/f && echo c > a/c")
        let cases: [([String], [String], Int)] = [
            (["a", "a/b"], ["a", "a/b", "a/b/f", "a/c"], 1),
            (["a/b", "a"], ["a/b", "a/b/f", "a", "a/c"], 1),
            (["a", "./a/"], ["a", "a/b", "a/b/f", "a/c"], 1),
            ([".", "a/c"], ["a", "a/b", "a/b/f", "a/c"], 1),
            (["a/b/f", "a/b", "a/b/f"], ["a/b/f", "a/b"], 2),
            (["a/c", "a/b"], ["a/c", "a/b", "a/b/f"], 0),
        ]
        for (inputs, expected, warnings) in cases {
            let previous = FileManager.default.currentDirectoryPath
            _ = FileManager.default.changeCurrentDirectoryPath(scratch.path)
            var warned: [String] = []
            _ = try ArchiveWriter.create(paths: inputs.map { Array($0.utf8) }, destination: .file("o.kseal"), keyFile: Fixture.key,
                                         backend: UserspaceBackend(), warn: { warned.append($0) })
            _ = FileManager.default.changeCurrentDirectoryPath(previous)
            let reader = try ArchiveReader(.file(scratch.path + "/o.kseal"), keyFile: Fixture.key, backend: UserspaceBackend())
            XCTAssertEqual(try reader.index.allEntries().map { String(decoding: $0.path, as: UTF8.self) }, expected, "\(inputs)")
            XCTAssertEqual(warned.filter { $0.contains("already added") }.count, warnings, "\(inputs): \(warned)")
        }
    }

    /// Real trees found on the machine, copied first so nothing changes under the test.
    func testRealTrees() throws {
        let scratch = try ScratchDirectory()
        for (source, name) in [("/usr/share/doc", "doc"), ("/opt/swift/usr/lib/swift/linux", "swiftlib")] {
            guard FileManager.default.fileExists(atPath: source) else { continue }
            let copy = try scratch.sub(name)
            try shell("cp -a '\(source)/.' '\(copy)/'")
            try Fixture.roundTrip(copy, name: name, scratch: scratch)
        }
    }

    /// A file of several hundred MiB: chunking, dedup and streaming of a large file.
    func testLargeFile() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("big")
        // 320 MiB: incompressible megabytes interleaved with compressible ones, written in pieces.
        XCTAssertTrue(FileManager.default.createFile(atPath: tree + "/large", contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tree + "/large"))
        var random = TestRandom(seed: 1234)
        for i in 0..<320 {
            handle.write(Data(i % 3 == 0 ? [UInt8](repeating: UInt8(i % 251), count: 1 << 20) : random.bytes(1 << 20)))
        }
        try handle.close()
        try Fixture.roundTrip(tree, name: "large", scratch: scratch)
    }
}
