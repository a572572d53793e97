import Foundation
import KsealTestSupport
import XCTest

/// Several keys per archive, and keys the kernel holds, through the CLI.
final class KeyTests: XCTestCase {
    /// `-k` is repeatable: create makes one key slot per key, and any of them opens the archive.
    func testEachOfSeveralKeysOpensTheArchive() throws {
        let (scratch, a) = try CLITests.scratchWithKey("kseal-keys")
        let (b, c) = (scratch.path + "/b.key", scratch.path + "/c.key")
        for key in [b, c] { XCTAssertEqual(try CLITests.run(["keygen", "-q", "-o", key]).status, 0) }
        try shell("mkdir '\(scratch.path)/tree' && echo hello > '\(scratch.path)/tree/f'")
        let created = try CLITests.run(["create", "-q", "-k", a, "-k", b, "x.kseal", "tree"], in: scratch.path)
        XCTAssertEqual(created.status, 0, created.stderr)
        for key in [[a], [b], [c, b]] {
            let verified = try CLITests.run(["verify", "-q"] + key.flatMap { ["-k", $0] } + ["x.kseal"], in: scratch.path)
            XCTAssertEqual(verified.status, 0, "\(key): \(verified.stderr)")
        }
        let wrong = try CLITests.run(["verify", "-q", "-k", c, "x.kseal"], in: scratch.path)
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("no key slot of this archive opens with the key file \(c)"), wrong.stderr)
        let info = try CLITests.run(["info", "-q", "-k", c, "-k", b, "x.kseal"], in: scratch.path)
        XCTAssertTrue(String(decoding: info.stdout, as: UTF8.self).contains("key slots:     2 (key file ×2); slot 1 opened"),
                      String(decoding: info.stdout, as: UTF8.self))
    }

    /// A kernel key that cannot be used (here: no such key, or no AF_ALG on this host) is status
    /// 4 with the reason, whether named by description or by serial, before the archive is read.
    func testAKernelKeyWithoutTheKernelPathIsStatus4() throws {
        let (scratch, _) = try CLITests.scratchWithKey("kseal-keyring")
        for key in ["kseal-test:nowhere", "123456789"] {
            let result = try CLITests.run(["verify", "-q", "--key-keyring", key, "missing.kseal"], in: scratch.path)
            XCTAssertEqual(result.status, 4, result.stderr)
            XCTAssertTrue(result.stderr.contains("kernel key \(key)"), result.stderr)
        }
    }
}
