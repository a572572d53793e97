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

    /// keygen --signing, create --sign, and --trust/--trust-dir on the reading side: status 8 for
    /// unsigned and untrusted archives, with nothing written.
    func testSignedArchivesAndTrust() throws {
        let (scratch, key) = try CLITests.scratchWithKey("kseal-signing")
        let path = scratch.path
        XCTAssertEqual(try CLITests.run(["keygen", "-q", "--signing", "-o", path + "/release"]).status, 0)
        XCTAssertEqual(try CLITests.run(["keygen", "-q", "--signing", "-o", path + "/other"]).status, 0)
        XCTAssertEqual(try shell("stat -c %a '\(path)/release' '\(path)/release.pub'").split(separator: "\n"), ["600", "644"])
        XCTAssertTrue(try shell("cat '\(path)/release.pub'").hasPrefix("kseal-public-key-p256 "), "P-256 by default: a certificate a kernel takes")
        XCTAssertEqual(try CLITests.run(["keygen", "-q", "--signing"]).status, 64, "--signing needs -o")
        // A secret key is never written to a file named "-" (nor to a pipe beside its public key).
        let dash = try CLITests.run(["keygen", "-q", "--signing", "-o", "-"], in: path)
        XCTAssertEqual(dash.status, 64, dash.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "/-") || FileManager.default.fileExists(atPath: path + "/-.pub"), "no file named -")
        try shell("mkdir '\(path)/tree' '\(path)/trusted.d' '\(path)/out' && echo v2 > '\(path)/tree/f' && cp '\(path)/release.pub' '\(path)/trusted.d/'")
        XCTAssertEqual(try CLITests.run(["create", "-q", "-k", key, "--sign", "release", "signed.kseal", "tree"], in: path).status, 0)
        XCTAssertEqual(try CLITests.run(["create", "-q", "-k", key, "unsigned.kseal", "tree"], in: path).status, 0)
        XCTAssertEqual(try CLITests.run(["create", "-q", "-k", key, "--sign", "release", "--format", "1", "v1.kseal", "tree"], in: path).status, 64)
        let trusted = try CLITests.run(["verify", "-k", key, "--trust", "release.pub", "signed.kseal"], in: path)
        XCTAssertEqual(trusted.status, 0, trusted.stderr)
        XCTAssertTrue(trusted.stderr.contains("signed by p256:") && trusted.stderr.contains("(trusted; checked in user space"), trusted.stderr)
        // info says how an archive is signed on stdout, as the note does on stderr.
        let info = try CLITests.run(["info", "-q", "-k", key, "--trust", "release.pub", "signed.kseal"], in: path)
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.text.contains("\nsignature:     signed by p256:") && info.text.contains("(trusted; checked in user space"), info.text)
        XCTAssertTrue(try CLITests.run(["info", "-q", "-k", key, "unsigned.kseal"], in: path).text.contains("\nsignature:     unsigned\n"))
        XCTAssertEqual(try CLITests.run(["extract", "-q", "-k", key, "--trust-dir", "trusted.d", "signed.kseal", "-C", "out"], in: path).status, 0)
        for (archive, trust) in [("unsigned.kseal", ["--trust", "release.pub"]), ("signed.kseal", ["--trust", "other.pub"]),
                                 ("unsigned.kseal", ["--trust-dir", "trusted.d"])] {
            try shell("rm -rf '\(path)/out' && mkdir '\(path)/out'")
            let refused = try CLITests.run(["extract", "-q", "-k", key] + trust + [archive, "-C", "out"], in: path)
            XCTAssertEqual(refused.status, 8, "\(archive) \(trust): \(refused.stderr)")
            XCTAssertTrue(refused.stderr.contains("not trusted"), refused.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path + "/out"), [], "nothing written")
        }
        // A malformed trusted key is an error, never skipped.
        try shell("echo junk > '\(path)/trusted.d/bad.pub'")
        XCTAssertEqual(try CLITests.run(["verify", "-q", "-k", key, "--trust-dir", "trusted.d", "signed.kseal"], in: path).status, 64)
    }

    /// A --trust-dir the user names that is missing (a typo) or holds no key would trust nobody
    /// and so let an unsigned archive through: a usage error naming it, before anything is read.
    /// Only the default directory may be missing.
    func testExplicitTrustDirectoryMustHoldAKey() throws {
        let (scratch, key) = try CLITests.scratchWithKey("kseal-trust-dir")
        let path = scratch.path
        try shell("mkdir '\(path)/tree' '\(path)/empty.d' '\(path)/out' && echo v2 > '\(path)/tree/f' && echo note > '\(path)/empty.d/README'")
        XCTAssertEqual(try CLITests.run(["create", "-q", "-k", key, "unsigned.kseal", "tree"], in: path).status, 0)
        for directory in ["trusted.d", "empty.d"] {
            for command in [["verify"], ["list"], ["info"], ["extract", "-C", "out"]] {
                let refused = try CLITests.run(command + ["-q", "-k", key, "--trust-dir", directory, "unsigned.kseal"], in: path)
                XCTAssertEqual(refused.status, 64, "\(command) --trust-dir \(directory): \(refused.stderr)")
                XCTAssertTrue(refused.stderr.contains("--trust-dir \(directory): no such directory, or no *.pub key in it"), refused.stderr)
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path + "/out"), [], "nothing written")
        XCTAssertEqual(try CLITests.run(["verify", "-q", "-k", key, "unsigned.kseal"], in: path).status, 0, "the default directory may be missing")
    }

    /// Two key files and a passphrase (from a file, or KSEAL_PASSPHRASE_FILE) each open the same
    /// archive; without a terminal, --passphrase says how else to give one.
    func testTwoKeysAndAPassphraseEachOpenTheSameArchive() throws {
        let (scratch, a) = try CLITests.scratchWithKey("kseal-passphrase")
        let path = scratch.path, b = path + "/b.key"
        XCTAssertEqual(try CLITests.run(["keygen", "-q", "-o", b]).status, 0)
        try shell("mkdir '\(path)/tree' && echo data > '\(path)/tree/f' && printf 'correct horse\\n' > '\(path)/pw' && printf 'wrong\\n' > '\(path)/bad'")
        let created = try CLITests.run(["create", "-q", "-k", a, "-k", b, "--passphrase-file", "pw", "x.kseal", "tree"], in: path)
        XCTAssertEqual(created.status, 0, created.stderr)
        for opener in [["-k", a], ["-k", b], ["--passphrase-file", "pw"]] {
            let verified = try CLITests.run(["verify", "-q"] + opener + ["x.kseal"], in: path)
            XCTAssertEqual(verified.status, 0, "\(opener): \(verified.stderr)")
        }
        XCTAssertEqual(try CLITests.run(["verify", "-q", "x.kseal"], environment: ["KSEAL_PASSPHRASE_FILE": path + "/pw"], in: path).status, 0)
        let wrong = try CLITests.run(["verify", "-q", "--passphrase-file", "bad", "x.kseal"], in: path)
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("opens with the passphrase"), wrong.stderr)
        let info = try CLITests.run(["info", "-q", "--passphrase-file", "pw", "x.kseal"], in: path)
        XCTAssertTrue(String(decoding: info.stdout, as: UTF8.self).contains("key slots:     3 (key file ×2, passphrase); slot 2 opened"))
        let noTerminal = try CLITests.run(["verify", "-q", "--passphrase", "x.kseal"], shell: "setsid $KSEAL verify -q --passphrase x.kseal", in: path)
        XCTAssertEqual(noTerminal.status, 64, noTerminal.stderr)
        XCTAssertTrue(noTerminal.stderr.contains("--passphrase-file"), noTerminal.stderr)
    }
}
