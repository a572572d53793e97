import Foundation
import KsealTestSupport
import XCTest

/// `--json` for update agents: every shape parses, and every failure is one JSON object too.
final class JSONTests: XCTestCase {
    private func object(_ result: CLITests.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let lines = result.stdout.split(separator: UInt8(ascii: "\n"))
        XCTAssertEqual(lines.count, 1, "one JSON object on stdout: \(result.text)", file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines.first ?? Data())) as? [String: Any], file: file, line: line)
    }

    func testSummariesAndErrorsAreJSON() throws {
        let (scratch, key) = try CLITests.scratchWithKey("kseal-json")
        let path = scratch.path
        try shell("mkdir '\(path)/tree' '\(path)/out' && echo data > '\(path)/tree/f'")
        XCTAssertEqual(try CLITests.run(["create", "-q", "-k", key, "a.kseal", "tree"], in: path).status, 0)
        let verified = try object(try CLITests.run(["verify", "-q", "--json", "-k", key, "a.kseal"], in: path))
        XCTAssertEqual(verified["ok"] as? Bool, true)
        XCTAssertEqual(verified["files"] as? Int, 1)
        XCTAssertEqual(verified["bytes"] as? Int, 5)
        XCTAssertEqual((verified["signature"] as? [String: Any])?["signed"] as? Bool, false)
        let extracted = try object(try CLITests.run(["extract", "-q", "--json", "-k", key, "a.kseal", "-C", "out"], in: path))
        XCTAssertEqual(extracted["status"] as? Int, 0)
        XCTAssertEqual(extracted["restored"] as? Int, 2)
        let info = try object(try CLITests.run(["info", "-q", "--json", "-k", key, "a.kseal"], in: path))
        XCTAssertEqual(info["format"] as? Int, 2)
        XCTAssertEqual((info["key_slots"] as? [[String: Any]])?.first?["kind"] as? String, "key file")
        let doctor = try object(try CLITests.run(["doctor", "--json"]))
        XCTAssertEqual((doctor["algorithms"] as? [[String: Any]])?.count, 3)
        XCTAssertNotNil(doctor["backend_reason"] as? String)
        // With no backend to run (the kernel asked for, on a host without AF_ALG), the report is
        // still the one object on stdout, saying why; the status is 4.
        let unavailable = try CLITests.run(["doctor", "--json", "--crypto", "kernel"])
        if unavailable.status == 4 {
            let report = try object(unavailable)
            XCTAssertEqual((report["algorithms"] as? [[String: Any]])?.count, 3, unavailable.text)
            XCTAssertTrue(report["backend"] is NSNull, unavailable.text)
            XCTAssertTrue((report["backend_reason"] as? String)?.contains("AF_ALG") == true, unavailable.text)
        } else {
            XCTAssertEqual(unavailable.status, 0, "a host whose kernel serves AF_ALG: \(unavailable.stderr)")
        }
        // Failures: wrong key, missing archive, a bad option; one object each, status and class.
        let other = path + "/other.key"
        XCTAssertEqual(try CLITests.run(["keygen", "-q", "-o", other]).status, 0)
        for (arguments, status, errorClass) in [(["verify", "--json", "-k", other, "a.kseal"], 2, "wrong_key"),
                                                (["info", "--json", "-k", key, "missing.kseal"], 3, "io_error"),
                                                (["extract", "--json", "-k", key, "--bogus", "a.kseal"], 64, "usage")] {
            let result = try CLITests.run(arguments, in: path)
            XCTAssertEqual(result.status, Int32(status), result.stderr)
            let error = try object(result)
            XCTAssertEqual(error["ok"] as? Bool, false)
            XCTAssertEqual(error["status"] as? Int, status)
            XCTAssertEqual(error["class"] as? String, errorClass)
            XCTAssertFalse((error["message"] as? String ?? "").isEmpty)
        }
    }
}
