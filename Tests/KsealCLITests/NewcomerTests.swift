import Foundation
import KsealTestSupport
import XCTest

/// What a new user tripped over (issue 11, item 6), each fixed and kept fixed.
final class NewcomerTests: XCTestCase {
    func testInputsAndEnvironmentGetClearAnswers() throws {
        let (scratch, key) = try CLITests.scratchWithKey("kseal-newcomer")
        let path = scratch.path
        try shell("echo hello > '\(path)/small.txt' && mkdir '\(path)/t' && echo x > '\(path)/t/f'")
        // A small text file is not a kseal archive (it used to be "truncated inside the header").
        let small = try CLITests.run(["list", "-q", "-k", key, "small.txt"], in: path)
        XCTAssertEqual(small.status, 1, small.stderr)
        XCTAssertTrue(small.stderr.contains("not a kseal archive"), small.stderr)
        // A bare kseal is a usage error, with the help on stderr.
        let bare = try CLITests.run([])
        XCTAssertEqual(bare.status, 64)
        XCTAssertTrue(bare.stderr.contains("SUBCOMMANDS"), bare.stderr)
        // Help for a command that does not exist is a usage error too, not the root help and 0.
        let nosuch = try CLITests.run(["help", "nosuch"])
        XCTAssertEqual(nosuch.status, 64, nosuch.stderr)
        XCTAssertTrue(nosuch.stderr.contains("no command 'nosuch'") && nosuch.stderr.contains("rekey"), nosuch.stderr)
        XCTAssertEqual(try CLITests.run(["help", "create"]).status, 0)
        // KSEAL_WORKERS must make sense; KSEAL_KEY_FILE="" is unset, not a file named "".
        for workers in ["abc", "-1", "0"] {
            let result = try CLITests.run(["list", "-q", "-k", key, "small.txt"], environment: ["KSEAL_WORKERS": workers], in: path)
            XCTAssertEqual(result.status, 64, "KSEAL_WORKERS=\(workers): \(result.stderr)")
        }
        let empty = try CLITests.run(["list", "-q", "small.txt"], environment: ["KSEAL_KEY_FILE": "", "XDG_CONFIG_HOME": path + "/nowhere"], in: path)
        XCTAssertEqual(empty.status, 64, empty.stderr)
        XCTAssertTrue(empty.stderr.contains("no key:") && !empty.stderr.contains(": : "), empty.stderr)
        // keygen -o - writes the key to a pipe, and no file named "-".
        let piped = try CLITests.run([], shell: "$KSEAL keygen -o - | wc -c", in: path)
        XCTAssertEqual(piped.text.trimmingCharacters(in: .whitespacesAndNewlines), "32")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "/-"))
        // doctor takes -q as every command does.
        XCTAssertEqual(try CLITests.run(["doctor", "-q"]).status, 0)
        // A scratch directory that cannot be written is named as the user gave it.
        let tmp = try CLITests.run(["create", "-q", "-k", key, "-", "t"], shell: "TMPDIR='\(path)/small.txt' $KSEAL create -q -k '\(key)' - t > /dev/null", in: path)
        XCTAssertEqual(tmp.status, 3, tmp.stderr)
        XCTAssertTrue(tmp.stderr.contains("small.txt") && !tmp.stderr.contains(".kseal-scratch"), tmp.stderr)
    }

    /// A file whose size changes as it is read (a /proc file says 0 and holds more) is archived
    /// as read, named, counted, and the status is 7, not 0 (tar exits 1).
    func testAFileThatChangedWhileReadIsStatus7() throws {
        let (scratch, key) = try CLITests.scratchWithKey("kseal-changed")
        let result = try CLITests.run(["create", "-q", "--format", "1", "-k", key, "a.kseal", "/proc/version"], in: scratch.path)
        XCTAssertEqual(result.status, 7, result.stderr)
        XCTAssertTrue(result.stderr.contains("changed size while being read") && result.stderr.contains("1 files changed while they were read"), result.stderr)
    }

    /// Names are printed raw to pipes, NUL-ended with -0, and escaped on a terminal.
    func testListNamesRawNulOrEscaped() throws {
        let (scratch, key) = try CLITests.scratchWithKey("kseal-names")
        let path = scratch.path
        try shell("mkdir '\(path)/t' && touch \"\(path)/t/$(printf 'a\\nb')\" \"\(path)/t/$(printf 'esc\\033[31m')\"")
        XCTAssertEqual(try CLITests.run(["create", "-q", "-k", key, "a.kseal", "t"], in: path).status, 0)
        let raw = try CLITests.run(["list", "-q", "-k", key, "a.kseal"], in: path)
        XCTAssertTrue(raw.text.contains("t/a\nb\n"), raw.text)
        let nul = try CLITests.run(["list", "-q", "-0", "-k", key, "a.kseal"], in: path)
        XCTAssertEqual(nul.stdout.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }, ["t", "t/a\nb", "t/esc\u{1B}[31m"])
        let terminal = try CLITests.run([], shell: "script -qec \"$KSEAL list -q -k '\(key)' a.kseal\" /dev/null", in: path)
        XCTAssertTrue(terminal.text.contains("t/a\\012b") && terminal.text.contains("t/esc\\033[31m"), terminal.text)
    }
}
