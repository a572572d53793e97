import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// The format 2 vector in Formats/vectors. Building its tree needs root
/// (device nodes, security.* xattrs). KSEAL_WRITE_VECTORS=1 rewrites it.
final class FormatVectorV2Tests: XCTestCase {
    /// The key slot opens by §4.2's formula, computed here from the spec's text with plain HMAC
    /// and AES-GCM calls, not by kseal's key code: KEK = HMAC(KF, label ‖ archive_id ‖ 01).
    func testTheKeySlotOpensByTheSpecFormula() throws {
        let vector = try FormatVector("v2-rootfs")
        let bytes = try Fixture.bytes(vector.archivePath)
        let header = Array(bytes[0..<128]), archiveID = Array(bytes[16..<48])
        XCTAssertEqual(Array(bytes[128..<132]), [1, 0, 48, 0], "one slot of kind 1, 48 bytes")
        let backend = UserspaceBackend()
        let kek = try backend.makeHMACSHA256(key: vector.keyBytes).digest(Array("kseal/v2/slot/key-file".utf8) + archiveID + [1])
        let aad = Array("kseal/v2/slot".utf8) + Array(header[0..<48]) + [0, 0, 1, 0]
        let dataKey = try backend.aes256GCM(key: kek).makeContext().open(Array(bytes[132..<180]), nonce: [UInt8](repeating: 0, count: 12), aad: aad)
        XCTAssertEqual(dataKey, vector.options.secrets?.dataKey)
    }

    func testRecreatingTheVectorReproducesItAndItReadsAsDescribed() throws {
        guard getuid() == 0 else { throw XCTSkip("the v2 vector's tree has device nodes and security.* xattrs: root only (CI runs as root)") }
        let vector = try FormatVector("v2-rootfs")
        let scratch = try ScratchDirectory()
        let made = try vector.recreate(backend: UserspaceBackend(), in: scratch.path)
        if ProcessInfo.processInfo.environment["KSEAL_WRITE_VECTORS"] == "1" {
            try Data(made).write(to: URL(fileURLWithPath: vector.archivePath))
        }
        let stored = Array(try Data(contentsOf: URL(fileURLWithPath: vector.archivePath)))
        XCTAssertTrue(made == stored, "recreated archive differs from \(vector.archivePath)")
        let reader = try ArchiveReader(.file(vector.archivePath), keyFile: vector.keyFile, backend: UserspaceBackend())
        XCTAssertEqual(reader.header.version, .v2)
        let byPath = Dictionary(uniqueKeysWithValues: try reader.index.allEntries().map { (String(decoding: $0.path, as: UTF8.self), $0) })
        XCTAssertEqual(byPath["dev/console"]?.device, DeviceNumber(major: 5, minor: 1))
        XCTAssertEqual(byPath["dev/loop0"]?.kind, .blockDevice)
        XCTAssertEqual(byPath["run/initctl"]?.kind, .fifo)
        XCTAssertEqual(byPath["bin/ping"]?.extendedAttributes.map { String(decoding: $0.name, as: UTF8.self) }, ["security.capability", "user.note"])
        XCTAssertEqual(byPath["etc"]?.extendedAttributes.first.map { String(decoding: $0.name, as: UTF8.self) }, "system.posix_acl_default")
        XCTAssertEqual(byPath["var/disk.img"]?.extents, [.zeros(8192), .chunk(byPath["var/disk.img"]!.chunks.first!), .zeros(Int64(20000 - 12288))])
        XCTAssertEqual(byPath["bin/ping"]?.userName, Array("root".utf8))
        XCTAssertTrue(try Verifier.verify(reader).isIntact)
        // Extracted as root, the tree matches the one the vector was built from: types, modes,
        // owners, sizes, device numbers, times, every xattr, and the holes (du).
        let expected = try scratch.sub("expected"), out = try scratch.sub("out")
        try vector.buildTree(at: expected)
        let report = try Extractor.extract(ArchiveReader(.file(vector.archivePath), keyFile: vector.keyFile, backend: UserspaceBackend()),
                                           to: .directory(out))
        XCTAssertTrue(report.isComplete && report.losses.isEmpty, "\(report)")
        let describe = { (root: String) in
            try shell("""
                cd '\(root)' && find . -mindepth 1 | LC_ALL=C sort | xargs stat -c '%n %F %a %u:%g %s %t:%T %Y' \\
                && getfattr -R -h -d -m - -e hex . 2>/dev/null | grep -v '^$' && du -k var/disk.img
                """)
        }
        let (want, got) = (try describe(expected), try describe(out))
        if ProcessInfo.processInfo.environment["KSEAL_SHOW"] != nil { print(want) }
        XCTAssertEqual(got, want)
        XCTAssertTrue(want.contains("security.capability=0x01") && want.contains("system.posix_acl_default=0x02"), want)
    }
}
