@testable import KsealArchive
import Foundation
import KsealTestSupport
import XCTest

/// Format v2's inputs, read from real files: extended attributes,
/// a symlink's own among them, and the data regions of a sparse file.
final class FileAttributesTests: XCTestCase {
    func testExtendedAttributesAreReadRawAndSorted() throws {
        let scratch = try ScratchDirectory()
        let file = scratch.path + "/f"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let set = try shell("setfattr -n user.zeta -v 0x00ff01 '\(file)' && setfattr -n user.alpha -v text '\(file)' && echo ok 2>&1 || echo no")
        guard set.contains("ok") else { throw XCTSkip("setfattr or user xattrs unavailable here: \(set)") }
        let attributes = try FileAttributes.extendedAttributes(of: Array(file.utf8))
        XCTAssertEqual(attributes.map { String(decoding: $0.name, as: UTF8.self) }, ["user.alpha", "user.zeta"])
        XCTAssertEqual(attributes.map(\.value), [Array("text".utf8), [0x00, 0xFF, 0x01]])
    }

    func testDataRegionsOfASparseFile() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path + "/sparse"
        // 8 MiB with 4 KiB of data at 4 MiB: one region, found without reading the holes.
        _ = try shell("truncate -s 8M '\(path)' && printf 'data' | dd of='\(path)' bs=4096 seek=1024 conv=notrunc status=none")
        let file = try SystemFile.open(path, flags: O_RDONLY | O_CLOEXEC)
        let regions = try FileAttributes.dataRegions(of: file, size: 8 << 20)
        XCTAssertEqual(regions.count, 1, "\(regions)")
        XCTAssertTrue(regions[0].contains(4 << 20) && regions[0].count <= 1 << 20, "\(regions)")
        let empty = try SystemFile.open(scratch.path + "/hole", flags: O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600)
        try system_ftruncate(empty.descriptor, 1 << 20).orThrow("ftruncate", "hole")
        XCTAssertEqual(try FileAttributes.dataRegions(of: empty, size: 1 << 20), [])
    }
}
