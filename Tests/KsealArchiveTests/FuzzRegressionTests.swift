import Foundation
@_spi(Testing) import KsealArchive
import XCTest

/// Every committed fuzz seed and crash reproducer runs through the fuzz harness on every test run.
final class FuzzRegressionTests: XCTestCase {
    func testCorpusAndReproducers() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz")
        var count = 0
        for folder in ["corpus", "regressions"] {
            let directory = root.appendingPathComponent(folder)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where !name.hasPrefix(".") {
                FuzzHarness.run(Array(try Data(contentsOf: directory.appendingPathComponent(name))))
                count += 1
            }
        }
        XCTAssertGreaterThanOrEqual(count, 3, "the seed corpus is missing")
    }
}
