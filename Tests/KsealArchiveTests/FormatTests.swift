@testable import KsealArchive
import XCTest

/// The header codec (spec §2): every field round-trips, every rule rejects.
final class FormatTests: XCTestCase {
    let good = ArchiveHeader(archiveID: Array(repeating: 1, count: 32), keyCommitment: Array(repeating: 2, count: 32), chunkSize: 131_072,
                             slotCount: 1, indexPlainLength: 4096, indexStoredLength: 300, frameCount: 3, framesLength: 3 * 100)

    func testRoundTrip() throws {
        let bytes = good.encoded()
        XCTAssertEqual(bytes.count, 128)
        XCTAssertEqual(Array(bytes[0..<8]), FormatV1.magic)
        XCTAssertEqual(try ArchiveHeader.decode(bytes), good)
    }

    func testEveryRuleRejects() {
        func expect(_ code: ArchiveError.Code, _ what: String, _ mutate: (inout [UInt8]) -> Void) {
            var bytes = good.encoded()
            mutate(&bytes)
            XCTAssertThrowsError(try ArchiveHeader.decode(bytes), what) { XCTAssertEqual(($0 as? ArchiveError)?.code, code, "\(what): \($0)") }
        }
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
            withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
        }
        expect(.damaged, "magic") { $0[3] = 0 }
        expect(.unsupported, "version 3") { put(UInt16(3), at: 8, in: &$0) }
        expect(.unsupported, "version 0") { put(UInt16(0), at: 8, in: &$0) }
        var two = good
        two.version = .v2
        XCTAssertEqual(try ArchiveHeader.decode(two.encoded()).version, .v2)
        expect(.unsupported, "suite") { $0[10] = 2 }
        expect(.unsupported, "compression") { $0[11] = 0 }
        expect(.unsupported, "flag bit 1") { $0[12] = 2 }
        expect(.unsupported, "flag bit 31") { $0[15] = 0x80 }
        var signed = good
        signed.version = .v2
        signed.isSigned = true
        XCTAssertEqual(signed.encoded()[12], 1)
        XCTAssertTrue(try ArchiveHeader.decode(signed.encoded()).isSigned, "v2: bit 0 is signed")
        var v1 = good
        v1.version = .v1
        var v1Signed = v1.encoded()
        v1Signed[12] = 1
        XCTAssertThrowsError(try ArchiveHeader.decode(v1Signed), "v1 has no flags") { XCTAssertEqual(($0 as? ArchiveError)?.code, .unsupported) }
        expect(.damaged, "reserved 86") { $0[86] = 1 }
        expect(.damaged, "reserved 120") { $0[127] = 1 }
        for size in [0, 2048, 3000, 262_144, UInt32.max] as [UInt32] { expect(.damaged, "chunk size \(size)") { put(size, at: 80, in: &$0) } }
        expect(.damaged, "no slots") { put(UInt16(0), at: 84, in: &$0) }
        expect(.damaged, "65 slots") { put(UInt16(65), at: 84, in: &$0) }
        expect(.damaged, "empty index") { put(UInt64(0), at: 88, in: &$0) }
        expect(.damaged, "index over 256 MiB") { put(UInt64(256 << 20) + 1, at: 88, in: &$0) }
        expect(.damaged, "compressed index larger than its bound") { put(UInt64(10_000), at: 96, in: &$0) }
        expect(.damaged, "frames too short for their tags") { put(UInt64(47), at: 112, in: &$0) }
        expect(.damaged, "frames longer than the chunks allow") { put(UInt64(3 * 131_088 + 1), at: 112, in: &$0) }
        expect(.damaged, "more frames than bytes") { put(UInt64.max, at: 104, in: &$0); put(UInt64.max, at: 112, in: &$0) }
        // Totals whose product overflows are arithmetic, not a trap; the index must then agree with them.
        var huge = good.encoded()
        put(UInt64.max / 16, at: 104, in: &huge)
        put(UInt64.max, at: 112, in: &huge)
        XCTAssertNoThrow(try ArchiveHeader.decode(huge))
        XCTAssertThrowsError(try ArchiveHeader.decode(Array(good.encoded().prefix(127))))
    }
}
