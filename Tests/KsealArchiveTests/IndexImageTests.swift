import Foundation
@_spi(Testing) @testable import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// An index over 256 KiB is decoded into a temporary file and read in streams (IndexImage,
/// EntryCursor); the same archive reads the same as a small one, and nothing is left behind.
final class IndexImageTests: XCTestCase {
    func testALargeIndexIsReadFromAFileThatIsGoneAtOnce() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("many")
        // 3,000 files with long names and distinct contents, and hard links: an index of about 1 MiB.
        try shell("cd '\(tree)' && for d in $(seq 1 30); do mkdir d$d; for f in $(seq 1 100); do echo \"$d-$f\" > d$d/file-with-a-rather-long-name-$f.txt; done; done"
            + " && for f in $(seq 1 20); do ln d1/file-with-a-rather-long-name-$f.txt d2/link-$f; done")
        let archive = scratch.path + "/many.kseal"
        try Fixture.create(archive, inputs: ["many"], in: scratch.path)
        let temporary = try scratch.sub("tmp")
        setenv("TMPDIR", temporary, 1)
        defer { unsetenv("TMPDIR") }
        let reader = try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend())
        XCTAssertGreaterThan(Int(reader.header.indexPlainLength), IndexImage.inMemoryLimit, "the index must take the file path")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temporary), [], "the image file is unlinked once SQLite has it open")
        let entries = try reader.index.allEntries()
        XCTAssertEqual(entries.count, 3_000 + 20 + 30 + 1)
        XCTAssertEqual(reader.index.summary.files, 3_000)
        XCTAssertEqual(reader.index.summary.hardLinks, 20)
        XCTAssertEqual(entries.map(\.id), (1...Int64(entries.count)).map { $0 })
        let report = try Verifier.verify(reader)
        XCTAssertTrue(report.isIntact)
        XCTAssertEqual(report.files, 3_020)
        let out = try scratch.sub("out")
        let extracted = try Extractor.extract(try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend()), to: .directory(out))
        XCTAssertTrue(extracted.isComplete)
        XCTAssertEqual(try shell("diff -r '\(tree)' '\(out)/many' && echo same").trimmingCharacters(in: .whitespacesAndNewlines), "same")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temporary), [])
    }

    /// The prefix rule over the sorted pass: a directory beneath a file, with a name between
    /// them in plain byte order ('.' sorts before '/') and far apart in id order.
    func testPathsAreCheckedAgainstEachOtherInAnyOrder() throws {
        let backend = UserspaceBackend()
        var sql = ""
        for i in 1...400 { sql += "INSERT INTO entries VALUES (\(i), CAST('d\(i)' AS BLOB), 2, 493, 0, 0, 0, 0, 0, NULL);" }
        sql = "INSERT INTO entries VALUES (401, CAST('x/inside' AS BLOB), 2, 493, 0, 0, 0, 0, 0, NULL);" + sql
        sql += "INSERT INTO entries VALUES (402, CAST('x.y' AS BLOB), 2, 493, 0, 0, 0, 0, 0, NULL);"
        sql += "INSERT INTO entries VALUES (403, CAST('x' AS BLOB), 1, 420, 0, 0, 0, 0, 0, NULL);"
        let image = try HostileArchiveBuilder.indexImage(sql: sql, frames: [], version: .v1)
        let scratch = try ScratchDirectory()
        let path = scratch.path + "/h.kseal"
        try Fixture.write(try HostileArchiveBuilder.archive(indexImage: image, frames: [], keyFile: Fixture.key, backend: backend, version: .v1), to: path)
        XCTAssertThrowsError(try ArchiveReader(.file(path), keyFile: Fixture.key, backend: backend)) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .unsafe)
            XCTAssertTrue(($0 as? ArchiveError)?.message.contains("x/inside lies beneath the non-directory x") ?? false, "\($0)")
        }
    }
}
