@testable import KsealArchive
import XCTest

/// The window bound of spec §6 and §8 step 6, which libzstd's one-call decoder does not apply.
final class ZstdWindowTests: XCTestCase {
    /// A frame of 4096 zero bytes as one raw block, not single-segment, declaring a window of
    /// 2^`windowLog` (RFC 8878 §3.1.1).
    private func frame(windowLog: Int) -> [UInt8] {
        [0x28, 0xB5, 0x2F, 0xFD, 0x40, UInt8((windowLog - 10) << 3), 0x00, 0x0F, 0x01, 0x80, 0x00] + [UInt8](repeating: 0, count: 4096)
    }

    func testFramesAskingForMoreThanTheBoundAreDamaged() throws {
        let decompressor = try ZstdDecompressor(windowLogMax: 17)
        var output = [UInt8](repeating: 1, count: 4096)
        for windowLog in [10, 17] {
            try frame(windowLog: windowLog).withUnsafeBytes { input in
                try output.withUnsafeMutableBytes { try decompressor.decompress(input, into: $0, what: "frame") }
            }
            XCTAssertEqual(output, [UInt8](repeating: 0, count: 4096))
        }
        for windowLog in [18, 27] {
            XCTAssertThrowsError(try frame(windowLog: windowLog).withUnsafeBytes { input in
                try output.withUnsafeMutableBytes { try decompressor.decompress(input, into: $0, what: "frame") }
            }) {
                XCTAssertEqual(($0 as? ArchiveError)?.code, .damaged)
                XCTAssertTrue("\($0)".contains("window"), "\($0)")
            }
        }
    }
}
