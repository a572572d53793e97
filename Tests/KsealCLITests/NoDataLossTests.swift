import Foundation
import KsealTestSupport
import XCTest

/// Never lose data, never fake success: create refuses destinations whose replacement would
/// destroy something, and a command whose output cannot be written never exits 0.
final class NoDataLossTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var key: String!

    // XCTest keeps every test case object to the end of the run: drop the scratch directory
    // (which its deinit removes) when the test ends, not never.
    override func tearDown() {
        scratch = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        (scratch, key) = try CLITests.scratchWithKey("kseal-nodataloss")
        try shell("cd '\(scratch.path)' && mkdir dir && echo text > dir/t && echo 'my notes' > notes.txt")
    }

    private func contents(_ name: String) throws -> String {
        try String(contentsOfFile: scratch.path + "/" + name, encoding: .utf8)
    }

    /// --strip-components moves entries, nothing else: zero runs (sparse files) and extended
    /// attributes come back as without it (before 0.3.0 both were dropped).
    func testStripComponentsKeepsHolesAndAttributes() throws {
        try shell("cd '\(scratch.path)' && mkdir -p top/sub && truncate -s 1M top/sub/sparse && printf 'end' >> top/sub/sparse"
            + " && printf 'start' | dd of=top/sub/sparse conv=notrunc status=none && (setfattr -n user.kseal -v kept top/sub/sparse 2>/dev/null || true)"
            + " && mkdir out")
        XCTAssertEqual(try CLITests.run(["create", "-q", "a.kseal", "top", "-k", key], in: scratch.path).status, 0)
        let result = try CLITests.run(["extract", "-q", "--strip-components", "1", "a.kseal", "-C", "out", "-k", key], in: scratch.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try shell("cd '\(scratch.path)' && cmp top/sub/sparse out/sub/sparse && echo same").trimmingCharacters(in: .whitespacesAndNewlines), "same")
        let attributes = try shell("cd '\(scratch.path)' && getfattr --only-values -n user.kseal top/sub/sparse 2>/dev/null; echo; getfattr --only-values -n user.kseal out/sub/sparse 2>/dev/null")
        let lines = attributes.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.first, lines.dropFirst().first, "the attribute as on the source (\(attributes))")
    }

    func testCreateRefusesToWriteOverOneOfItsInputs() throws {
        let result = try CLITests.run(["create", "notes.txt", "notes.txt", "-k", key], in: scratch.path)
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("over one of its inputs"), result.stderr)
        XCTAssertEqual(try contents("notes.txt"), "my notes\n")
        // --force replaces foreign files, never an input.
        XCTAssertEqual(try CLITests.run(["create", "--force", "notes.txt", "notes.txt", "dir", "-k", key], in: scratch.path).status, 64)
        XCTAssertEqual(try contents("notes.txt"), "my notes\n")
    }

    func testCreateRefusesToReplaceAFileThatIsNotAnArchiveUnlessForced() throws {
        let refused = try CLITests.run(["create", "notes.txt", "dir", "-k", key], in: scratch.path)
        XCTAssertEqual(refused.status, 64, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("not a kseal archive") && refused.stderr.contains("--force"), refused.stderr)
        XCTAssertEqual(try contents("notes.txt"), "my notes\n")
        XCTAssertEqual(try CLITests.run(["create", "--force", "notes.txt", "dir", "-k", key], in: scratch.path).status, 0)
        XCTAssertEqual(try CLITests.run(["verify", "-q", "notes.txt", "-k", key], in: scratch.path).status, 0)
        // An archive is replaced by a new one, and an empty file holds nothing to lose.
        XCTAssertEqual(try CLITests.run(["create", "notes.txt", "dir", "-k", key], in: scratch.path).status, 0)
        try Data().write(to: URL(fileURLWithPath: scratch.path + "/empty"))
        XCTAssertEqual(try CLITests.run(["create", "empty", "dir", "-k", key], in: scratch.path).status, 0)
    }

    /// A replaced archive keeps its mode and owner, as one rewritten in place would: a 0600
    /// archive did become 0644 (the umask's default) when created again. As root, a service
    /// user's archive stays that user's.
    func testCreateKeepsTheModeAndOwnerOfTheArchiveItReplaces() throws {
        XCTAssertEqual(try CLITests.run(["create", "-q", "a.kseal", "dir", "-k", key], in: scratch.path).status, 0)
        let archive = scratch.path + "/a.kseal"
        XCTAssertEqual(chmod(archive, 0o600), 0)
        let owner: uid_t = geteuid() == 0 ? 65534 : geteuid(), group: gid_t = geteuid() == 0 ? 65534 : getegid()
        XCTAssertEqual(chown(archive, owner, group), 0)
        let again = try CLITests.run(["create", "-q", "a.kseal", "dir", "-k", key], in: scratch.path)
        XCTAssertEqual(again.status, 0, again.stderr)
        var st = stat()
        XCTAssertEqual(stat(archive, &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o600)
        XCTAssertEqual([st.st_uid, st.st_gid], [owner, group])
        XCTAssertEqual(try CLITests.run(["verify", "-q", "a.kseal", "-k", key], in: scratch.path).status, 0, "and it is the new archive")
    }

    func testCreateRefusesToReplaceAFIFO() throws {
        XCTAssertEqual(mkfifo(scratch.path + "/fifo", 0o600), 0)
        let refused = try CLITests.run(["create", "fifo", "dir", "-k", key], in: scratch.path)
        XCTAssertEqual(refused.status, 64, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("kseal create -"), refused.stderr)
        var st = stat()
        XCTAssertEqual(lstat(scratch.path + "/fifo", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO, "the FIFO is still there")
    }

    /// `/dev/full` as standard output: every command that prints says so and exits 3.
    func testAFailedWriteToStandardOutputIsAnIOError() throws {
        let archive = scratch.path + "/a.kseal"
        XCTAssertEqual(try CLITests.run(["create", archive, "dir", "-k", key], in: scratch.path).status, 0)
        for command in ["list", "list --long", "list --json", "info", "verify", "extract --stdout"] {
            let result = try CLITests.run([], shell: "$KSEAL \(command) -q -k '\(key!)' '\(archive)' > /dev/full")
            XCTAssertEqual(result.status, 3, "\(command): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("No space left on device"), "\(command): \(result.stderr)")
        }
        let doctor = try CLITests.run([], shell: "$KSEAL doctor > /dev/full")
        XCTAssertEqual(doctor.status, 3, doctor.stderr)
    }

    func testListLongShowsSetuidSetgidAndStickyAsLsDoes() throws {
        try shell("""
            cd '\(scratch.path)' && mkdir modes && cd modes && touch suid sgid-noexec && mkdir sticky sticky-noexec \
            && chmod 4755 suid && chmod 2644 sgid-noexec && chmod 1777 sticky && chmod 1776 sticky-noexec
            """)
        let archive = scratch.path + "/m.kseal"
        XCTAssertEqual(try CLITests.run(["create", archive, "modes", "-k", key], in: scratch.path).status, 0)
        let listing = try CLITests.run(["list", "--long", "-q", archive, "-k", key]).text
        for (mode, name) in [("-rwsr-xr-x", "modes/suid"), ("-rw-r-Sr--", "modes/sgid-noexec"),
                             ("drwxrwxrwt", "modes/sticky"), ("drwxrwxrwT", "modes/sticky-noexec")] {
            XCTAssertTrue(listing.split(separator: "\n").contains { $0.hasPrefix(mode) && $0.hasSuffix(name) }, "\(name) as \(mode):\n\(listing)")
        }
    }
}
