import Foundation
@_spi(Testing) @testable import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Reading format v2 indexes: every new field read back, every new rule
/// refused with its class. Archives are built around hand-written index rows.
final class IndexV2Tests: XCTestCase {
    private let backend = UserspaceBackend()

    private func open(_ sql: String, frames: [HostileArchiveBuilder.Frame] = []) throws -> ArchiveReader {
        let scratch = try ScratchDirectory()
        let image = try HostileArchiveBuilder.indexImage(sql: sql, frames: frames, version: .v2)
        let path = scratch.path + "/v2.kseal"
        try Fixture.write(try HostileArchiveBuilder.archive(indexImage: image, frames: frames, keyFile: Fixture.key, backend: backend, version: .v2),
                          to: path)
        return try ArchiveReader(.file(path), keyFile: Fixture.key, backend: backend)
    }

    private func row(_ id: Int, _ path: String, kind: Int, mode: Int = 0o644, size: Int = 0, names: String = "NULL, NULL",
                     target: String = "NULL", device: String = "NULL, NULL") -> String {
        "INSERT INTO entries VALUES (\(id), CAST('\(path)' AS BLOB), \(kind), \(mode), 0, 0, \(names), 0, 0, \(size), \(target), \(device));"
    }

    func testEveryNewFieldIsReadBack() throws {
        let data = [UInt8](repeating: 7, count: 4096)
        let frame = try HostileArchiveBuilder.Frame.raw(data, backend: backend)
        let reader = try open(
            row(1, "dev", kind: 2, mode: 0o755, names: "CAST('root' AS BLOB), CAST('root' AS BLOB)")
            + row(2, "dev/console", kind: 5, mode: 0o600, device: "5, 1") + row(3, "dev/sda", kind: 6, device: "8, 0")
            + row(4, "dev/fifo", kind: 7) + row(5, "sparse", kind: 1, size: 4096 + (1 << 30))
            + "INSERT INTO file_chunks VALUES (5, 0, NULL, \(1 << 30)); INSERT INTO file_chunks VALUES (5, 1, 0, 0);"
            + "INSERT INTO xattrs VALUES (5, CAST('security.capability' AS BLOB), X'0100000202'), (1, CAST('system.posix_acl_default' AS BLOB), X'02');",
            frames: [frame])
        let entries = try reader.index.allEntries()
        XCTAssertEqual(entries.map(\.kind), [.directory, .characterDevice, .blockDevice, .fifo, .file])
        XCTAssertEqual(entries[0].userName, Array("root".utf8))
        XCTAssertEqual(entries[0].extendedAttributes.map(\.name), [Array("system.posix_acl_default".utf8)])
        XCTAssertEqual(entries[1].device, DeviceNumber(major: 5, minor: 1))
        XCTAssertEqual(entries[2].device, DeviceNumber(major: 8, minor: 0))
        XCTAssertNil(entries[3].device)
        XCTAssertEqual(entries[4].extents, [.zeros(1 << 30), .chunk(0)])
        XCTAssertEqual(Array(entries[4].chunks), [0])
        XCTAssertEqual(entries[4].extendedAttributes, [ExtendedAttribute(name: Array("security.capability".utf8), value: [1, 0, 0, 2, 2])])
        XCTAssertTrue(try Verifier.verify(reader).isIntact)
    }

    /// Owners map by name where the target knows it, else by number; --numeric-owner uses numbers.
    func testOwnersAreMappedByName() throws {
        guard getuid() == 0 else { throw XCTSkip("restoring owners needs root (CI runs as root)") }
        let sql = "INSERT INTO entries VALUES (1, CAST('known' AS BLOB), 2, 493, 4321, 4321, CAST('root' AS BLOB), CAST('root' AS BLOB), 0, 0, 0, NULL, NULL, NULL);"
            + "INSERT INTO entries VALUES (2, CAST('unknown' AS BLOB), 2, 493, 4321, 4322, CAST('no-such-user-kseal' AS BLOB), NULL, 0, 0, 0, NULL, NULL, NULL);"
        for numeric in [false, true] {
            let scratch = try ScratchDirectory()
            var options = ExtractOptions()
            options.numericOwner = numeric
            _ = try Extractor.extract(try open(sql), to: .directory(scratch.path), options: options)
            var known = stat(), unknown = stat()
            XCTAssertEqual(lstat(scratch.path + "/known", &known), 0)
            XCTAssertEqual(lstat(scratch.path + "/unknown", &unknown), 0)
            XCTAssertEqual([known.st_uid, known.st_gid], numeric ? [4321, 4321] : [0, 0], "numeric: \(numeric)")
            XCTAssertEqual([unknown.st_uid, unknown.st_gid], [4321, 4322], "numbers where the names are unknown")
        }
    }

    func testNewRulesAreRefused() throws {
        let cases: [(String, String, ArchiveError.Code)] = [
            ("device without numbers", row(1, "c", kind: 5), .damaged),
            ("numbers on a file", row(1, "f", kind: 1, device: "1, 2"), .damaged),
            ("device number over 32 bits", row(1, "c", kind: 5, device: "4294967296, 0"), .damaged),
            ("empty owner name", row(1, "d", kind: 2, names: "X'', NULL"), .damaged),
            ("owner name with a slash", row(1, "d", kind: 2, names: "CAST('a/b' AS BLOB), NULL"), .damaged),
            ("zero run on a directory", row(1, "d", kind: 2) + "INSERT INTO file_chunks VALUES (1, 0, NULL, 5);", .damaged),
            ("empty zero run", row(1, "f", kind: 1) + "INSERT INTO file_chunks VALUES (1, 0, NULL, 0);", .damaged),
            ("two runs side by side", row(1, "f", kind: 1, size: 10)
                + "INSERT INTO file_chunks VALUES (1, 0, NULL, 5), (1, 1, NULL, 5);", .damaged),
            ("size that disagrees with the runs", row(1, "f", kind: 1, size: 9) + "INSERT INTO file_chunks VALUES (1, 0, NULL, 10);", .damaged),
            ("unknown xattr namespace", row(1, "f", kind: 1) + "INSERT INTO xattrs VALUES (1, CAST('os2.x' AS BLOB), X'00');", .unsafe),
            ("default ACL on a file", row(1, "f", kind: 1) + "INSERT INTO xattrs VALUES (1, CAST('system.posix_acl_default' AS BLOB), X'02');",
             .damaged),
            ("xattrs of a missing entry", row(1, "f", kind: 1) + "INSERT INTO xattrs VALUES (2, CAST('user.a' AS BLOB), X'00');", .damaged),
            ("xattrs on a hard link", row(1, "f", kind: 1) + row(2, "h", kind: 4, target: "CAST('f' AS BLOB)")
                + "INSERT INTO xattrs VALUES (2, CAST('user.a' AS BLOB), X'00');", .damaged),
        ]
        for (what, sql, code) in cases {
            XCTAssertThrowsError(try open(sql), what) { XCTAssertEqual(($0 as? ArchiveError)?.code, code, "\(what): \($0)") }
        }
    }

    /// What IndexBuilder writes for v2 is what the loader reads back, field for field.
    func testBuilderRoundTrip() throws {
        let data = [UInt8](repeating: 9, count: 4096)
        let frame = try HostileArchiveBuilder.Frame.raw(data, backend: backend)
        let builder = try IndexBuilder(version: .v2)
        let capability = ExtendedAttribute(name: Array("security.capability".utf8), value: [1, 0, 0, 2])
        var extras = IndexBuilder.Extras(userName: Array("root".utf8), groupName: Array("disk".utf8))
        extras.attributes = [ExtendedAttribute(name: Array("user.a".utf8), value: []), capability]
        try builder.addEntry(path: Array("f".utf8), kind: .file, mode: 0o4755, uid: 0, gid: 6, mtime: (-2, 750_000_000), size: 4096 + 100,
                             target: nil, extras: extras)
        try builder.addChunk(ordinal: 0, ChunkRecord(plainLength: 4096, storedLength: 4096, compression: .raw,
                                                     digest: frame.sha256.withUnsafeBytes { ChunkDigest($0) }, frameOffset: 0))
        try builder.addFileChunk(entry: 1, sequence: 0, ordinal: 0)
        try builder.addZeros(entry: 1, sequence: 1, length: 100)
        try builder.addEntry(path: Array("tty".utf8), kind: .characterDevice, mode: 0o620, uid: 0, gid: 5, mtime: (0, 0), size: 0, target: nil,
                             extras: IndexBuilder.Extras(device: DeviceNumber(major: 4, minor: 1)))
        let (plainLength, compressed) = try builder.finish(compressor: ZstdCompressor(level: 3))
        var image = [UInt8](repeating: 0, count: plainLength)
        try XCTUnwrap(compressed.inMemory).withUnsafeBytes { input in
            try image.withUnsafeMutableBytes { try ZstdDecompressor(windowLogMax: 27).decompress(input, into: $0, what: "index") }
        }
        let scratch = try ScratchDirectory()
        let path = scratch.path + "/built.kseal"
        try Fixture.write(try HostileArchiveBuilder.archive(indexImage: image, frames: [frame], keyFile: Fixture.key, backend: backend, version: .v2),
                          to: path)
        let entries = try ArchiveReader(.file(path), keyFile: Fixture.key, backend: backend).index.allEntries()
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries[0].userName, Array("root".utf8))
        XCTAssertEqual(entries[0].groupName, Array("disk".utf8))
        XCTAssertEqual(entries[0].extendedAttributes.map(\.name), [Array("security.capability".utf8), Array("user.a".utf8)], "sorted by name")
        XCTAssertEqual(entries[0].extents, [.chunk(0), .zeros(100)])
        XCTAssertEqual(entries[0].mtimeSeconds, -2)
        XCTAssertEqual(entries[1].device, DeviceNumber(major: 4, minor: 1))
        XCTAssertNil(entries[1].userName)
    }

}

/// Create in format v2: holes and zero chunks become zero runs.
final class SparseCreateTests: XCTestCase {
    func testHolesAndZeroChunksAreRecordedNotStored() throws {
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("tree")
        // 2 GiB with 8 KiB of data at 1 GiB; a file with a written zero chunk between data; plain data.
        _ = try shell("""
            cd '\(tree)' && truncate -s 2G sparse.img && printf 'middle' | dd of=sparse.img bs=4096 seek=262144 conv=notrunc status=none \
            && (head -c 131072 /dev/urandom; head -c 131072 /dev/zero; head -c 1000 /dev/urandom) > zeros-inside \
            && head -c 5000 /dev/urandom > plain && truncate -s 300000 empty-but-long
            """)
        var options = CreateOptions()
        options.formatVersion = .v2
        let archive = scratch.path + "/v2.kseal"
        let summary = try ArchiveWriter.create(paths: [Array(tree.utf8)], destination: .file(archive), keyFile: Fixture.key,
                                               backend: UserspaceBackend(), options: options, warn: { XCTFail($0) })
        XCTAssertLessThan(summary.archiveBytes, 1 << 20, "the 2 GiB file is not stored")
        let reader = try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend())
        let byName = Dictionary(uniqueKeysWithValues: try reader.index.allEntries().map { (String(decoding: $0.path, as: UTF8.self).split(separator: "/").last.map(String.init) ?? "", $0) })
        let sparse = try XCTUnwrap(byName["sparse.img"])
        XCTAssertEqual(sparse.size, 2 << 30)
        // Names are walked in bytewise order, so "plain" holds frame 0.
        // The data is one file-system block (4 KiB on ext4 and tmpfs), and only that is stored:
        // chunks follow the data region, so the extracted file gets its hole back at that size.
        let block = try reader.index.allChunks()[1].plainLength
        XCTAssertTrue((6...65536).contains(block) && block.nonzeroBitCount == 1, "a block, not a 128 KiB chunk window: \(block)")
        XCTAssertEqual(sparse.extents, [.zeros(1 << 30), .chunk(1), .zeros((1 << 30) - Int64(block))])
        XCTAssertEqual(try XCTUnwrap(byName["zeros-inside"]).extents, [.chunk(2), .zeros(131_072), .chunk(3)])
        XCTAssertNil(try XCTUnwrap(byName["plain"]).extents, "no zero run: chunks alone")
        XCTAssertEqual(try XCTUnwrap(byName["empty-but-long"]).extents, [.zeros(300_000)])
        XCTAssertTrue(try Verifier.verify(reader).isIntact)
    }
}

/// Create in format v2: devices, FIFOs, names and xattrs recorded.
final class SpecialCreateTests: XCTestCase {
    func testDevicesFIFOsNamesAndAttributesAreRecorded() throws {
        guard getuid() == 0 else { throw XCTSkip("making device nodes and security.* xattrs needs root (CI runs as root)") }
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("tree")
        _ = try shell("""
            cd '\(tree)' && mknod null c 1 3 && mknod loop0 b 7 0 && mkfifo fifo && echo x > f && ln f hard \
            && setfattr -n user.note -v hello f && setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 f \
            && ln -s f link
            """)
        var options = CreateOptions()
        options.formatVersion = .v2
        let archive = scratch.path + "/v2.kseal"
        let summary = try ArchiveWriter.create(paths: [Array(tree.utf8)], destination: .file(archive), keyFile: Fixture.key,
                                               backend: UserspaceBackend(), options: options, warn: { XCTFail($0) })
        XCTAssertEqual(summary.specialFiles, 3)
        XCTAssertEqual(summary.skipped, 0)
        let entries = try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend()).index.allEntries()
        let byName = Dictionary(uniqueKeysWithValues: entries.map { (String(decoding: $0.path, as: UTF8.self).split(separator: "/").last.map(String.init) ?? "", $0) })
        XCTAssertEqual(byName["null"]?.kind, .characterDevice)
        XCTAssertEqual(byName["null"]?.device, DeviceNumber(major: 1, minor: 3))
        XCTAssertEqual(byName["loop0"]?.device, DeviceNumber(major: 7, minor: 0))
        XCTAssertEqual(byName["fifo"]?.kind, .fifo)
        XCTAssertNil(byName["fifo"]?.device)
        XCTAssertEqual(byName["f"]?.userName, Array("root".utf8))
        XCTAssertEqual(byName["f"]?.extendedAttributes.map { String(decoding: $0.name, as: UTF8.self) }, ["security.capability", "user.note"])
        XCTAssertEqual(byName["f"]?.extendedAttributes.last?.value, Array("hello".utf8))
        XCTAssertEqual(byName["hard"]?.kind, .hardLink)
        XCTAssertEqual(byName["hard"]?.extendedAttributes, [], "a hard link shares its file's attributes")
    }
}

/// Create and extract in format v2, as root: holes stay holes, devices,
/// FIFOs and xattrs (a capability among them) come back.
final class V2RoundTripTests: XCTestCase {
    func testRootFilesystemPiecesRoundTrip() throws {
        guard getuid() == 0 else { throw XCTSkip("device nodes and security.* xattrs need root (CI runs as root)") }
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("tree")
        let out = try scratch.sub("out")
        _ = try shell("""
            cd '\(tree)' && mknod null c 1 3 && mkfifo fifo && truncate -s 2G sparse.img \
            && printf 'middle' | dd of=sparse.img bs=4096 seek=262144 conv=notrunc status=none \
            && echo x > f && chmod 4755 f && setfattr -n user.note -v hello f \
            && setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 f
            """)
        var options = CreateOptions()
        options.formatVersion = .v2
        let archive = scratch.path + "/v2.kseal"
        _ = try ArchiveWriter.create(paths: [Array(tree.utf8)], destination: .file(archive), keyFile: Fixture.key,
                                     backend: UserspaceBackend(), options: options, warn: { XCTFail($0) })
        let reader = try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend())
        let report = try Extractor.extract(reader, to: .directory(out))
        XCTAssertTrue(report.isComplete, "\(report)")
        XCTAssertEqual(report.losses, [:])
        let restored = out + tree
        let compare = try shell("""
            cd '\(restored)' && [ "$(stat -c %s sparse.img)" = 2147483648 ] \
            && [ "$(dd if=sparse.img bs=4096 skip=262144 count=2 status=none | sha256sum)" = \
                 "$(dd if='\(tree)/sparse.img' bs=4096 skip=262144 count=2 status=none | sha256sum)" ] && echo same \
            && du -k sparse.img | cut -f1 && stat -c '%F %t:%T %a' null fifo f && getfattr -d -m - --absolute-names f | grep -v '^#' | sort
            """)
        let lines = compare.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "same", compare)
        XCTAssertLessThan(Int(lines[1]) ?? .max, 1024, "the restored 2 GiB file keeps its holes: \(compare)")
        XCTAssertTrue(compare.contains("character special file 1:3"), compare)
        XCTAssertTrue(compare.contains("fifo"), compare)
        XCTAssertTrue(compare.contains("regular file 0:0 4755"), compare)
        XCTAssertTrue(compare.contains("security.capability=0s"), compare)
        XCTAssertTrue(compare.contains("user.note=\"hello\""), compare)
    }
}
