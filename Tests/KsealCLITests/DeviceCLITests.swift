import Foundation
import KsealTestSupport
import XCTest

/// The device front end (kseal-device, built by every `swift build`; the static kernel-only copy
/// is Scripts/setup --device): the same commands answer exactly as the full kseal does, and its
/// hand parser takes what ArgumentParser takes.
final class DeviceCLITests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var key: String!
    private var archive: String { scratch.path + "/a.kseal" }

    // XCTest keeps every test case object to the end of the run: drop the scratch directory
    // (which its deinit removes) when the test ends, not never.
    override func tearDown() {
        scratch = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        (scratch, key) = try CLITests.scratchWithKey("kseal-device")
        try shell("mkdir -p '\(scratch.path)/src/d' && cd '\(scratch.path)/src' && echo one > a && seq 1 20000 > d/b && ln -s a l && ln a h")
        XCTAssertEqual(try CLITests.run(["create", "-q", "-k", key, archive, "src"], in: scratch.path).status, 0)
    }

    private func device(_ arguments: [String], in directory: String? = nil) throws -> CLITests.Result {
        let binary = String(CLITests.binary.dropLast("kseal".count)) + "kseal-device"
        return try CLITests.run([], shell: "exec '\(binary)' " + arguments.map { "'\($0)'" }.joined(separator: " "), in: directory)
    }

    /// stdout and exit status identical to the full CLI's, for each reading command.
    func testTheSameCommandsPrintTheSame() throws {
        let key: String = key, archive = archive
        for arguments in [["list", "-k", key, archive], ["list", "--long", "-k", key, archive], ["list", "--json", "-k", key, archive],
                          ["list", "-0", "-k", key, archive], ["info", "-k", key, archive], ["info", "--json", "-k", key, archive],
                          ["verify", "-k", key, archive], ["verify", "--json", "-k", key, archive], ["extract", "--stdout", "-k", key, archive, "src/d"],
                          ["verify", "-k", scratch.path + "/missing", archive], ["verify", "--json", "-k", key, scratch.path + "/missing.kseal"],
                          ["doctor", "--json", "--crypto", "userspace"]] {
            let full = try CLITests.run(arguments), device = try device(arguments)
            XCTAssertEqual(device.status, full.status, arguments.joined(separator: " "))
            XCTAssertEqual(device.text, full.text, arguments.joined(separator: " "))
        }
    }

    func testExtractWithTheParsersForms() throws {
        let key: String = key
        try shell("mkdir '\(scratch.path)/out'")
        // A short cluster with a value, --name=value, options after operands, `--`.
        let result = try device(["extract", "-qk", key, "--strip-components=1", archive, "-C", scratch.path + "/out", "--", "src/d"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        XCTAssertEqual(try String(contentsOfFile: scratch.path + "/out/d/b", encoding: .utf8), try String(contentsOfFile: scratch.path + "/src/d/b", encoding: .utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path + "/out/a"))
    }

    func testUsageErrorsExit64WithOneLine() throws {
        for (arguments, message) in [([String](), "usage: kseal verify"), (["create", "x"], "unknown command 'create'"),
                                     (["verify", "--bogus", archive], "unknown option '--bogus'"), (["verify", "-k"], "missing value for '-k'"),
                                     (["verify", "--json=yes", archive], "'--json' takes no value"), (["verify"], "missing the archive"),
                                     (["verify", archive, "extra"], "unexpected argument 'extra'"),
                                     (["extract", "--crypto", "gpu", archive], "is not one of auto, kernel, userspace"),
                                     (["extract", "--strip-components", "x", archive], "is not a number"),
                                     (["extract", "--json", "--stdout", archive], "choose one")] {
            let result = try device(arguments)
            XCTAssertEqual(result.status, 64, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let json = try device(["verify", "--json", "--bogus", archive])
        XCTAssertTrue(json.text.hasPrefix("{\"ok\":false,\"status\":64,\"class\":\"usage\""), json.text)
    }

    /// Every option the device's --help names is in kseal(1), and the page has the device build.
    func testHelpAndManPageAgree() throws {
        let help = try device(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertEqual(try device(["verify", "--help"]).text, help.text)
        let manURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("man/kseal.1")
        let man = try String(contentsOf: manURL, encoding: .utf8).replacingOccurrences(of: "\\-", with: "-")
            .replacingOccurrences(of: "\\fB", with: "").replacingOccurrences(of: "\\fR", with: "").replacingOccurrences(of: "\\fI", with: "")
        XCTAssertTrue(man.contains("DEVICE BUILD"))
        let flags = Set(help.text.split(whereSeparator: { " ,;\n[]|<>=()".contains($0) }).map(String.init).filter { $0.hasPrefix("-") && $0.count > 1 })
        XCTAssertGreaterThan(flags.count, 20)
        for flag in flags { XCTAssertTrue(man.contains(flag), "man/kseal.1 lacks \(flag) (from the device build's --help)") }
        XCTAssertTrue(try device(["--version"]).text.hasPrefix(try CLITests.run(["--version"]).text.prefix(5)))
    }
}
