import Foundation
@_spi(Testing) import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Correctly sealed archives whose creator (who holds the key) is the attacker. Each is refused
/// with a clear error, and nothing is written outside the target directory.
final class MaliciousIndexTests: XCTestCase {
    private let backend = UserspaceBackend()
    private var scratch: ScratchDirectory!
    private var outside: String!
    nonisolated(unsafe) private static var casesTried = 0

    // XCTest keeps every test case object to the end of the run: drop the scratch directory
    // (which its deinit removes) when the test ends, not never.
    override func tearDown() {
        scratch = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        scratch = try ScratchDirectory()
        outside = try scratch.sub("outside")
    }

    private func entry(_ id: Int, _ path: String, kind: Int = 1, size: Int = 0, target: String? = nil) -> String {
        let targetSQL = target.map { "CAST('\($0)' AS BLOB)" } ?? "NULL"
        return "INSERT INTO entries VALUES (\(id), CAST('\(path)' AS BLOB), \(kind), 420, 0, 0, 1700000000, 0, \(size), \(targetSQL));"
    }

    /// Builds the archive, then opening (and, if that passes, extracting) must fail with one of
    /// `codes`; `outside` must stay empty and the target must hold nothing unexpected.
    private func assertRefused(_ what: String, sql: String, frames: [HostileArchiveBuilder.Frame] = [], schema: Bool = true,
                               chunkRows: Bool = true, codes: Set<ArchiveError.Code> = [.unsafe, .damaged],
                               file: StaticString = #filePath, line: UInt = #line) throws {
        Self.casesTried += 1
        let image = try HostileArchiveBuilder.indexImage(sql: sql, frames: frames, schema: schema, chunkRows: chunkRows, version: .v1)
        let bytes = try HostileArchiveBuilder.archive(indexImage: image, frames: frames, keyFile: Fixture.key, backend: backend, version: .v1)
        let path = scratch.path + "/hostile.kseal"
        try Fixture.write(bytes, to: path)
        let target = try scratch.sub("target-\(Self.casesTried)")
        do {
            let reader = try ArchiveReader(.file(path), keyFile: Fixture.key, backend: backend)
            let report = try Extractor.extract(reader, to: .directory(target))
            XCTAssertFalse(report.isComplete, "\(what): extraction reported success", file: file, line: line)
        } catch let error as ArchiveError {
            XCTAssertTrue(codes.contains(error.code), "\(what): \(error.code): \(error.message)", file: file, line: line)
            XCTAssertFalse(error.message.contains("\n"), "one line", file: file, line: line)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "\(what): wrote outside", file: file, line: line)
        let escaped = try shell("find '\(scratch.path)' -newer '\(path)' -not -path '\(target)*' -not -path '\(scratch.path)' | wc -l")
        XCTAssertEqual(escaped.trimmingCharacters(in: .whitespacesAndNewlines), "0", "\(what): files appeared beside the target", file: file, line: line)
    }

    /// Opening (not only extracting) must refuse the index, with `code`.
    private func assertRefusedAtOpen(_ what: String, sql: String, code: ArchiveError.Code, file: StaticString = #filePath, line: UInt = #line) throws {
        let image = try HostileArchiveBuilder.indexImage(sql: sql, frames: [], version: .v1)
        let path = scratch.path + "/refused.kseal"
        try Fixture.write(try HostileArchiveBuilder.archive(indexImage: image, frames: [], keyFile: Fixture.key, backend: backend, version: .v1), to: path)
        XCTAssertThrowsError(try ArchiveReader(.file(path), keyFile: Fixture.key, backend: backend), what, file: file, line: line) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, code, "\(what): \($0)", file: file, line: line)
        }
        try assertRefused(what, sql: sql, codes: [code], file: file, line: line)
    }

    /// The v1 points an independent reader had to guess, each refused with its class (spec §9).
    func testStorageTypesPrefixesBothWaysAndEmptyLinks() throws {
        try assertRefusedAtOpen("TEXT path", sql: "INSERT INTO entries VALUES (1, 'f', 2, 493, 0, 0, 0, 0, 0, NULL);", code: .damaged)
        try assertRefusedAtOpen("TEXT mode", sql: "INSERT INTO entries VALUES (1, CAST('d' AS BLOB), 2, 'abc', 0, 0, 0, 0, 0, NULL);", code: .damaged)
        try assertRefusedAtOpen("REAL mtime", sql: "INSERT INTO entries VALUES (1, CAST('d' AS BLOB), 2, 493, 0, 0, 1.5, 0, 0, NULL);", code: .damaged)
        try assertRefusedAtOpen("TEXT link target", sql: "INSERT INTO entries VALUES (1, CAST('l' AS BLOB), 3, 511, 0, 0, 0, 0, 0, 'x');", code: .damaged)
        try assertRefusedAtOpen("file after entries beneath it", sql: entry(1, "d/x", kind: 2) + entry(2, "d"), code: .unsafe)
        try assertRefusedAtOpen("symlink after entries beneath it", sql: entry(1, "d/e/x", kind: 2) + entry(2, "d/e", kind: 3, target: "/etc"),
                          code: .unsafe)
        try assertRefusedAtOpen("empty symlink target", sql: "INSERT INTO entries VALUES (1, CAST('l' AS BLOB), 3, 511, 0, 0, 0, 0, 0, X'');",
                          code: .damaged)
    }

    func testHostilePaths() throws {
        let up = String(repeating: "../", count: 8) + String(outside.dropFirst())
        try assertRefused("absolute path", sql: entry(1, outside + "/pwned"))
        try assertRefused("dot-dot path", sql: entry(1, up + "/pwned"))
        try assertRefused("dot-dot inside", sql: entry(1, "a/../../pwned"))
        try assertRefused("empty component", sql: entry(1, "a//b"))
        try assertRefused("dot component", sql: entry(1, "./a"))
        try assertRefused("empty path", sql: entry(1, ""))
        try assertRefused("NUL in path", sql: "INSERT INTO entries VALUES (1, X'610062', 1, 420, 0, 0, 0, 0, 0, NULL);")
        try assertRefused("over-long component", sql: entry(1, String(repeating: "x", count: 300)))
    }

    func testDuplicatesAndEntriesBeneathLinks() throws {
        let noUnique = kseal_index_schema_without_unique()
        try assertRefused("duplicate path", sql: noUnique + entry(1, "a", kind: 2) + entry(2, "a", kind: 2), schema: false, chunkRows: false)
        try assertRefused("file beneath a symlink to outside", sql: entry(1, "a", kind: 3, target: outside) + entry(2, "a/pwned"))
        try assertRefused("file beneath a file", sql: entry(1, "a") + entry(2, "a/b"))
        try assertRefused("symlink with NUL", sql: "INSERT INTO entries VALUES (1, CAST('l' AS BLOB), 3, 511, 0, 0, 0, 0, 0, X'2F0065');")
    }

    func testHardLinks() throws {
        let content = try HostileArchiveBuilder.Frame.raw(Array("x".utf8), backend: backend)
        let file = entry(1, "f", size: 1) + "INSERT INTO file_chunks VALUES (1, 0, 0);"
        try assertRefused("hard link to an absolute path", sql: file + entry(2, "h", kind: 4, size: 1, target: "/etc/passwd"), frames: [content])
        try assertRefused("hard link climbing out", sql: file + entry(2, "h", kind: 4, size: 1, target: "../f"), frames: [content])
        try assertRefused("hard link to a later entry", sql: entry(1, "h", kind: 4, size: 1, target: "f") + entry(2, "f", size: 1)
            + "INSERT INTO file_chunks VALUES (2, 0, 0);", frames: [content])
        try assertRefused("hard link to a directory", sql: entry(1, "d", kind: 2) + entry(2, "h", kind: 4, target: "d"))
        try assertRefused("hard link with the wrong size", sql: file + entry(2, "h", kind: 4, size: 99, target: "f"), frames: [content])
    }

    func testChunkReferencesAndSizes() throws {
        let content = try HostileArchiveBuilder.Frame.raw(Array("hello".utf8), backend: backend)
        try assertRefused("chunk that does not exist", sql: entry(1, "f", size: 5) + "INSERT INTO file_chunks VALUES (1, 0, 7);", frames: [content])
        try assertRefused("negative chunk", sql: entry(1, "f", size: 5) + "INSERT INTO file_chunks VALUES (1, 0, -1);", frames: [content])
        try assertRefused("size disagrees with chunks", sql: entry(1, "f", size: 4) + "INSERT INTO file_chunks VALUES (1, 0, 0);", frames: [content])
        try assertRefused("chunk sequence gap", sql: entry(1, "f", size: 10) + "INSERT INTO file_chunks VALUES (1, 0, 0), (1, 2, 0);", frames: [content])
        try assertRefused("chunks for a directory", sql: entry(1, "d", kind: 2) + entry(2, "f", size: 5)
            + "INSERT INTO file_chunks VALUES (1, 0, 0), (2, 0, 0);", frames: [content])
        try assertRefused("chunks for no entry", sql: entry(1, "f", size: 5) + "INSERT INTO file_chunks VALUES (1, 0, 0), (9, 0, 0);", frames: [content])
        try assertRefused("frame used by nobody", sql: entry(1, "f"), frames: [content])
        let other = try HostileArchiveBuilder.Frame.raw(Array("world".utf8), backend: backend)
        try assertRefused("frames out of first-use order", sql: entry(1, "f", size: 10) + "INSERT INTO file_chunks VALUES (1, 0, 1), (1, 1, 0);",
                          frames: [content, other])
        try assertRefused("huge declared lengths", sql: entry(1, "f", size: 1 << 40) + "INSERT INTO file_chunks VALUES (1, 0, 0);"
            + "UPDATE chunks SET plain_length = \(1 << 40);", frames: [content])
        try assertRefused("out-of-range metadata", sql: "INSERT INTO entries VALUES (1, CAST('f' AS BLOB), 1, 99999, -1, 0, 0, 2000000000, 0, NULL);")
        try assertRefused("unknown compression", sql: entry(1, "f", size: 5) + "INSERT INTO file_chunks VALUES (1, 0, 0); UPDATE chunks SET compression = -3;",
                          frames: [content])
        try assertRefused("offsets that lie", sql: entry(1, "f", size: 5) + "INSERT INTO file_chunks VALUES (1, 0, 0); UPDATE chunks SET frame_offset = 1000;",
                          frames: [content])
    }

    /// A zstd frame that expands far beyond what the index declares is refused from its header,
    /// without decompressing into unbounded memory.
    func testDecompressionBomb() throws {
        let bomb = [UInt8](repeating: 0, count: 64 << 20)
        let claimed = [UInt8](repeating: 0, count: 4096)
        let frame = try HostileArchiveBuilder.Frame.zstd(bomb, claiming: claimed.count, sha256: try backend.makeSHA256().digest(claimed))
        XCTAssertLessThan(frame.stored.count, 131_072, "64 MiB of zeros compress to one small frame")
        try assertRefused("decompression bomb", sql: entry(1, "bomb", size: 4096) + "INSERT INTO file_chunks VALUES (1, 0, 0);", frames: [frame])
        let liar = try HostileArchiveBuilder.Frame.zstd(Array("short".utf8), claiming: 4096, sha256: try backend.makeSHA256().digest(claimed))
        try assertRefused("frame shorter than declared", sql: entry(1, "f", size: 4096) + "INSERT INTO file_chunks VALUES (1, 0, 0);", frames: [liar])
        let wrongHash = try HostileArchiveBuilder.Frame(stored: Array("hello".utf8), compression: .raw, plainLength: 5, sha256: backend.makeSHA256().digest([1]))
        try assertRefused("content that does not match its hash", sql: entry(1, "f", size: 5) + "INSERT INTO file_chunks VALUES (1, 0, 0);",
                          frames: [wrongHash])
    }

    func testIndexThatIsNotKsealsDatabase() throws {
        try assertRefused("a view in place of a table", sql: "DROP TABLE entries; CREATE VIEW entries AS WITH RECURSIVE c(x) AS "
            + "(SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x AS id, CAST('f' || x AS BLOB) AS path, 2 AS kind, 0 AS mode, 0 AS uid, 0 AS gid, "
            + "0 AS mtime_sec, 0 AS mtime_nsec, 0 AS size, NULL AS target FROM c;")
        try assertRefused("a trigger", sql: "CREATE TRIGGER t AFTER INSERT ON entries BEGIN SELECT 1; END;")
        try assertRefused("an extra table", sql: "CREATE TABLE extra (x);")
        try assertRefused("wrong application id", sql: "PRAGMA application_id = 7;")
        try assertRefused("newer index version", sql: "PRAGMA user_version = 3;", codes: [.unsupported])
        try assertRefused("an index of another version than the header's", sql: "PRAGMA user_version = 2;", codes: [.damaged])
    }

    override class func tearDown() {
        print("malicious index cases: \(casesTried) tried, all refused, nothing written outside the target")
    }
}

/// kseal's schema with the UNIQUE constraint removed, to smuggle in duplicate paths.
private func kseal_index_schema_without_unique() -> String {
    indexSchemaSQL(.v1).replacingOccurrences(of: "BLOB NOT NULL UNIQUE,  -- relative", with: "BLOB NOT NULL,  -- relative")
}
