import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// The normative vector in Formats/vectors. Set KSEAL_WRITE_VECTORS=1 to rewrite it (only with a
/// format change: spec, version and vectors move together).
final class FormatVectorTests: XCTestCase {
    func testRecreatingTheVectorReproducesItByteForByte() throws {
        let vector = try FormatVector()
        let scratch = try ScratchDirectory()
        let made = try vector.recreate(backend: UserspaceBackend(), in: scratch.path)
        if ProcessInfo.processInfo.environment["KSEAL_WRITE_VECTORS"] == "1" {
            try Data(made).write(to: URL(fileURLWithPath: vector.archivePath))
        }
        let stored = Array(try Data(contentsOf: URL(fileURLWithPath: vector.archivePath)))
        XCTAssertEqual(made.count, stored.count)
        XCTAssertTrue(made == stored, "recreated archive differs from \(vector.archivePath)")
    }

    /// The parallel writer produces the same bytes with any number of workers.
    func testTheNumberOfWorkersDoesNotChangeTheArchive() throws {
        let vector = try FormatVector()
        let stored = Array(try Data(contentsOf: URL(fileURLWithPath: vector.archivePath)))
        for workers in [1, 2, 3, 7] {
            let scratch = try ScratchDirectory()
            XCTAssertTrue(try vector.recreate(backend: UserspaceBackend(), in: scratch.path, workers: workers) == stored, "\(workers) workers")
        }
    }

    func testTheVectorReadsAsDescribed() throws {
        let vector = try FormatVector()
        let reader = try ArchiveReader(.file(vector.archivePath), keyFile: vector.keyFile, backend: UserspaceBackend())
        let names = try reader.index.allEntries().map { String(decoding: $0.path, as: UTF8.self) }
        XCTAssertEqual(names, ["caf\u{FFFD}", "dir", "dir/copy.bin", "dir/random.bin", "dir/zeros.bin", "empty", "hard.txt", "hello.txt", "link"])
        XCTAssertEqual(try reader.index.allEntries()[0].path, [0x63, 0x61, 0x66, 0xE9])
        XCTAssertEqual(try reader.index.allEntries().first { $0.kind == .hardLink }?.path, Array("hello.txt".utf8))
        XCTAssertEqual(reader.header.chunkSize, 4096)
        let report = try Verifier.verify(reader)
        XCTAssertTrue(report.isIntact, "\(report)")
        XCTAssertEqual(report.frames, 6, "café 1, copy.bin 2 (random.bin dedups), zeros.bin 2 (its second chunk repeats the first), hard.txt 1")
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("expected")
        try vector.buildTree(at: tree)
        let out = try scratch.sub("out")
        let extracted = try Extractor.extract(ArchiveReader(.file(vector.archivePath), keyFile: vector.keyFile, backend: UserspaceBackend()),
                                             to: .directory(out))
        XCTAssertTrue(extracted.isComplete)
        // The two roots (path "") are scratch directories, not part of the archive: leave them out.
        XCTAssertEqual(try TreeSnapshot(of: tree).differences(from: TreeSnapshot(of: out)).filter { !$0.hasPrefix(":") }, [])
    }
}
