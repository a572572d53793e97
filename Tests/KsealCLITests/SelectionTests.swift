import Foundation
import KsealTestSupport
import XCTest
@testable import kseal

/// Choosing what create archives, as tar users expect: --exclude and --exclude-from (shell
/// patterns on the stored path, a bare name at any depth, excluded directories not entered),
/// -T/--files-from with --null, and --one-file-system.
final class SelectionTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var key: String!

    // XCTest keeps every test case object to the end of the run: drop the scratch directory
    // (which its deinit removes) when the test ends, not never.
    override func tearDown() {
        scratch = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        (scratch, key) = try CLITests.scratchWithKey("kseal-selection")
        try shell("""
            cd '\(scratch.path)' && mkdir -p src/build src/lib/build src/a 'src/sp ace' \
            && echo x > src/a/x.o && echo y > src/a/y.c && echo z > src/build/z && echo w > src/lib/build/w \
            && echo k > src/lib/keep.o.txt && echo s > 'src/sp ace/f'
            """)
    }

    /// The stored paths, in archive order (from `list --json`, so any byte survives).
    private func stored(_ archive: String) throws -> [String] {
        let result = try CLITests.run(["list", "-q", "--json", "-k", key, archive], in: scratch.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])
        return entries.compactMap { $0["path"] as? String }
    }

    func testExcludePatternsMatchAtAnyDepthAndPruneDirectories() throws {
        let result = try CLITests.run(["create", "-k", key, "--exclude", "build", "--exclude", "*.o", "--exclude", "./src/sp ace/",
                                       "a.kseal", "src"], in: scratch.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("4 excluded"), result.stderr)
        XCTAssertEqual(try stored("a.kseal"), ["src", "src/a", "src/a/y.c", "src/lib", "src/lib/keep.o.txt"])
        // A pattern with a slash matches a tail of the path too; '*' crosses '/'.
        XCTAssertEqual(try CLITests.run(["create", "-k", key, "--exclude", "lib/build", "--exclude", "src/*.c", "b.kseal", "src"],
                                        in: scratch.path).status, 0)
        XCTAssertEqual(try stored("b.kseal"), ["src", "src/a", "src/a/x.o", "src/build", "src/build/z", "src/lib",
                                                "src/lib/keep.o.txt", "src/sp ace", "src/sp ace/f"])
    }

    func testListsFromFilesAndStandardInput() throws {
        try "src/a/y.c\n\nsrc/lib\n".write(toFile: scratch.path + "/list", atomically: true, encoding: .utf8)
        try "build\n*.txt\n".write(toFile: scratch.path + "/excludes", atomically: true, encoding: .utf8)
        let fromFile = try CLITests.run(["create", "-k", key, "-T", "list", "--exclude-from", "excludes", "a.kseal"], in: scratch.path)
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        XCTAssertEqual(try stored("a.kseal"), ["src/a/y.c", "src/lib"])
        // NUL-separated on standard input: names with spaces and newlines pass whole.
        try shell("cd '\(scratch.path)' && printf 'n\\n' > 'src/new\nline'")
        let nul = try CLITests.run([], shell: "cd '\(scratch.path)' && printf 'src/sp ace/f\\0src/new\\nline\\0' | $KSEAL create -k '\(key!)' --null -T - b.kseal")
        XCTAssertEqual(nul.status, 0, nul.stderr)
        XCTAssertEqual(try stored("b.kseal"), ["src/sp ace/f", "src/new\nline"], "in the order listed")
        // An unreadable list is an I/O error and writes nothing; an empty one names nothing.
        let missing = try CLITests.run(["create", "-k", key, "-T", "no-such-list", "c.kseal"], in: scratch.path)
        XCTAssertEqual(missing.status, 3, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no-such-list"), missing.stderr)
        let empty = try CLITests.run([], shell: "cd '\(scratch.path)' && $KSEAL create -k '\(key!)' -T - c.kseal < /dev/null")
        XCTAssertEqual(empty.status, 64, empty.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path + "/c.kseal"))
    }

    /// A tmpfs mounted inside the tree: its mount point is stored, its files are not.
    func testOneFileSystemStoresMountPointsButNotTheirContents() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root (CI runs as root)") }
        let mounted = try CLITests.run([], shell: "cd '\(scratch.path)' && mkdir src/mnt && mount -t tmpfs kseal-test src/mnt 2>&1")
        guard mounted.status == 0 else { throw XCTSkip("this machine lets root mount no tmpfs: \(mounted.text)") }
        try shell("echo m > '\(scratch.path)/src/mnt/inside'")
        defer { _ = try? shell("umount '\(scratch.path)/src/mnt'") }
        let result = try CLITests.run(["create", "-k", key, "--one-file-system", "a.kseal", "src"], in: scratch.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("1 mount points not descended into"), result.stderr)
        let names = try stored("a.kseal")
        XCTAssertTrue(names.contains("src/mnt") && !names.contains("src/mnt/inside"), "\(names)")
        XCTAssertEqual(try CLITests.run(["create", "-k", key, "b.kseal", "src"], in: scratch.path).status, 0)
        XCTAssertTrue(try stored("b.kseal").contains("src/mnt/inside"))
    }
}

/// Paths in bulk: create and extract take their paths out of the arguments before
/// swift-argument-parser, which costs quadratic time in them.
final class BulkPathsTests: XCTestCase {
    /// The options that take a value are exactly those the parser describes for each command, or a
    /// value could be taken for a path (and a path for a value).
    func testValueOptionsMatchTheParser() throws {
        let dump = try CLITests.run(["--experimental-dump-help"])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any])
        let subcommands = try XCTUnwrap((root["command"] as? [String: Any])?["subcommands"] as? [[String: Any]])
        for command in ["create", "extract"] {
            let description = try XCTUnwrap(subcommands.first { $0["commandName"] as? String == command }, command)
            var options = Set<String>()
            for argument in description["arguments"] as? [[String: Any]] ?? [] where argument["kind"] as? String == "option" {
                for name in argument["names"] as? [[String: Any]] ?? [] {
                    let text = try XCTUnwrap(name["name"] as? String)
                    options.insert(name["kind"] as? String == "short" ? "-" + text : "--" + text)
                }
            }
            XCTAssertEqual(BulkPaths.valueOptions[command], options, command)
        }
    }

    func testPathsAreTakenOutAroundOptionsAndTheirValues() {
        XCTAssertEqual(BulkPaths.split(["create", "-k", "key", "a.kseal", "x", "--level", "5", "y", "-qk", "key2", "-", "--exclude=b", "z"]),
                       ["create", "-k", "key", "a.kseal", "--level", "5", "-qk", "key2", "--exclude=b"])
        XCTAssertEqual(BulkPaths.taken, ["x", "y", "-", "z"])
        XCTAssertEqual(BulkPaths.split(["extract", "-C", "dir", "--", "-a.kseal", "-p", "--"]), ["extract", "-C", "dir", "--", "-a.kseal"])
        XCTAssertEqual(BulkPaths.taken, ["-p", "--"])
        XCTAssertEqual(BulkPaths.split(["list", "a", "b"]), ["list", "a", "b"], "other commands are left alone")
    }
}

extension SelectionTests {
    /// Extract's selection: a path selects itself and what lies beneath it, "." the whole archive,
    /// and thousands of selected paths cost linear time (the benchmark measures it).
    func testExtractSelectionByPathsAndDot() throws {
        XCTAssertEqual(try CLITests.run(["create", "-k", key, "a.kseal", "src"], in: scratch.path).status, 0)
        for (selection, expected) in [(["src/lib", "src/a/y.c"], ["src/a/y.c", "src/lib/build/w", "src/lib/keep.o.txt"]),
                                      (["."], ["src/a/x.o", "src/a/y.c", "src/build/z", "src/lib/build/w", "src/lib/keep.o.txt", "src/sp ace/f"])] {
            let out = scratch.path + "/out-\(selection.count)"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
            let result = try CLITests.run(["extract", "-q", "-k", key, "a.kseal", "-C", out] + selection, in: scratch.path)
            XCTAssertEqual(result.status, 0, result.stderr)
            let files = try shell("cd '\(out)' && find . -type f | sed 's|^./||' | LC_ALL=C sort").split(separator: "\n").map(String.init)
            XCTAssertEqual(files, expected, "\(selection)")
        }
        let missing = try CLITests.run(["extract", "-q", "-k", key, "a.kseal", "-C", scratch.path + "/out-1", "src/a", "src/nothing"], in: scratch.path)
        XCTAssertEqual(missing.status, 64, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("src/nothing: not found in the archive"), missing.stderr)
    }
}

extension SelectionTests {
    /// --strip-components N: leading components go, hard links follow their stripped targets,
    /// names too short are left out, and selection still names entries as stored.
    func testStripComponents() throws {
        try shell("cd '\(scratch.path)' && ln src/a/y.c src/lib/hard")
        XCTAssertEqual(try CLITests.run(["create", "-k", key, "a.kseal", "src"], in: scratch.path).status, 0)
        let out = scratch.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        let result = try CLITests.run(["extract", "-q", "-k", key, "--strip-components", "2", "a.kseal", "-C", out, "src/lib", "src/a"],
                                      in: scratch.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        let names = try shell("cd '\(out)' && find . -mindepth 1 | sed 's|^./||' | LC_ALL=C sort").split(separator: "\n").map(String.init)
        XCTAssertEqual(names, ["build", "build/w", "hard", "keep.o.txt", "x.o", "y.c"])
        var first = stat(), second = stat()
        XCTAssertEqual(lstat(out + "/y.c", &first), 0)
        XCTAssertEqual(lstat(out + "/hard", &second), 0)
        XCTAssertEqual(first.st_ino, second.st_ino, "the hard link is made to the stripped target")
        // A hard link whose file is stripped away is named, with status 3, not called damage.
        try shell("cd '\(scratch.path)' && mkdir top && echo t > top/f && mkdir top/d && ln top/f top/d/g")
        XCTAssertEqual(try CLITests.run(["create", "-k", key, "b.kseal", "top/f", "top/d"], in: scratch.path).status, 0)
        let lost = try CLITests.run(["extract", "-q", "-k", key, "--strip-components", "2", "b.kseal", "-C", out], in: scratch.path)
        XCTAssertEqual(lost.status, 3, lost.stderr)
        XCTAssertTrue(lost.stderr.contains("which --strip-components leaves out"), lost.stderr)
        let negative = try CLITests.run(["extract", "-q", "-k", key, "--strip-components", "-1", "a.kseal", "-C", out], in: scratch.path)
        XCTAssertEqual(negative.status, 64, negative.stderr)
    }
}

extension SelectionTests {
    /// --keep-directory-symlink: a merged-/usr target (bin -> usr/bin, sbin -> /usr/sbin, lib ->
    /// usr/lib -> ../opt/lib) takes a classic tree through its links; a link leading outside the
    /// target is still refused, and without the flag every link is.
    func testKeepDirectorySymlinkFollowsLinksInsideTheTargetOnly() throws {
        try shell("""
            cd '\(scratch.path)' && mkdir -p root/bin root/sbin root/lib/mod && echo sh > root/bin/sh && echo init > root/sbin/init \
            && echo m > root/lib/mod/m.ko && mkdir -p t/usr/bin t/usr/sbin t/opt/lib && ln -s usr/bin t/bin && ln -s /usr/sbin t/sbin \
            && ln -s usr/lib t/lib && ln -s ../opt/lib t/usr/lib
            """)
        XCTAssertEqual(try CLITests.run([], shell: "cd '\(scratch.path)/root' && $KSEAL create -k '\(key!)' ../a.kseal bin sbin lib").status, 0)
        let refused = try CLITests.run(["extract", "-q", "-k", key, "a.kseal", "-C", "t"], in: scratch.path)
        XCTAssertEqual(refused.status, 6, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--keep-directory-symlink"), refused.stderr)
        let followed = try CLITests.run(["extract", "-q", "-k", key, "--keep-directory-symlink", "a.kseal", "-C", "t"], in: scratch.path)
        XCTAssertEqual(followed.status, 0, followed.stderr)
        for (path, content) in [("t/usr/bin/sh", "sh\n"), ("t/usr/sbin/init", "init\n"), ("t/opt/lib/mod/m.ko", "m\n")] {
            XCTAssertEqual(try? String(contentsOfFile: scratch.path + "/" + path, encoding: .utf8), content, path)
        }
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: scratch.path + "/t/bin"), "usr/bin", "the link stays")
        // Out of the target: refused, and nothing is written there.
        try shell("cd '\(scratch.path)' && mkdir -p outside u && ln -s ../outside u/bin")
        let escape = try CLITests.run(["extract", "-q", "-k", key, "--keep-directory-symlink", "a.kseal", "-C", "u", "bin"], in: scratch.path)
        XCTAssertEqual(escape.status, 6, escape.stderr)
        XCTAssertTrue(escape.stderr.contains("leads outside the target directory"), escape.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/outside"), [])
    }
}

extension SelectionTests {
    /// The owner and group names `list --json` shows, by path.
    private func names(_ archive: String) throws -> [String: [String: String]] {
        let result = try CLITests.run(["list", "-q", "--json", "-k", key, archive], in: scratch.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: entries.map { entry in
            (entry["path"] as! String, ["user", "group"].reduce(into: [String: String]()) { $0[$1] = entry[$1] as? String })
        })
    }

    private func metadata(_ archive: String) throws -> [String: [String: Int]] {
        let result = try CLITests.run(["list", "-q", "--json", "-k", key, archive], in: scratch.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])
        var byPath: [String: [String: Int]] = [:]
        for entry in entries {
            byPath[entry["path"] as! String] = ["uid": entry["uid"] as! Int, "gid": entry["gid"] as! Int,
                                                "mtime": entry["mtime"] as! Int, "mtime_nsec": entry["mtime_nsec"] as! Int]
        }
        return byPath
    }

    /// --owner, --group, --mtime and --clamp-mtime record what the target should see, not the
    /// build host's ids and times.
    func testOwnerGroupAndMtimeOverrides() throws {
        try shell("cd '\(scratch.path)' && touch -d '2000-01-01 00:00:00 UTC' src/a/y.c")
        let created = try CLITests.run(["create", "-k", key, "--owner", "1234", "--group", "wheel:55", "--mtime", "@1700000000.5",
                                        "a.kseal", "src/a"], in: scratch.path)
        XCTAssertEqual(created.status, 0, created.stderr)
        for (path, fields) in try metadata("a.kseal") {
            XCTAssertEqual(fields, ["uid": 1234, "gid": 55, "mtime": 1_700_000_000, "mtime_nsec": 500_000_000], path)
        }
        // By name from this machine, a UTC date, and clamping: the older file keeps its time.
        XCTAssertEqual(try CLITests.run(["create", "-k", key, "--owner", "root", "--group", "root", "--mtime", "2020-01-01",
                                         "--clamp-mtime", "b.kseal", "src/a"], in: scratch.path).status, 0)
        let clamped = try metadata("b.kseal")
        XCTAssertEqual(clamped["src/a/y.c"], ["uid": 0, "gid": 0, "mtime": 946_684_800, "mtime_nsec": 0])
        XCTAssertEqual(clamped["src/a/x.o"], ["uid": 0, "gid": 0, "mtime": 1_577_836_800, "mtime_nsec": 0])
        XCTAssertEqual(try CLITests.run(["create", "-k", key, "--mtime", "@-1.25", "c.kseal", "src/a/y.c"], in: scratch.path).status, 0)
        XCTAssertEqual(try metadata("c.kseal")["src/a/y.c"]?["mtime"], -2)
        XCTAssertEqual(try metadata("c.kseal")["src/a/y.c"]?["mtime_nsec"], 750_000_000)
        // Format 2 records names: the one given (wheel, though this machine may have none), else
        // this machine's for the number (root); 1234 has none here; --numeric-owner records none.
        XCTAssertEqual(try names("a.kseal")["src/a/y.c"], ["group": "wheel"])
        XCTAssertEqual(try names("b.kseal")["src/a/y.c"], ["user": "root", "group": "root"])
        XCTAssertEqual(try CLITests.run(["create", "-k", key, "--numeric-owner", "--group", "wheel:55", "e.kseal", "src/a"], in: scratch.path).status, 0)
        XCTAssertEqual(try names("e.kseal")["src/a/y.c"], [:])
        for bad in [["--owner", "no-such-user-kseal"], ["--group", "no-such-group-kseal"], ["--mtime", "2024-02-30"], ["--mtime", "yesterday"],
                    ["--clamp-mtime"], ["--owner", "a/b:1"]] {
            let refused = try CLITests.run(["create", "-k", key] + bad + ["d.kseal", "src"], in: scratch.path)
            XCTAssertEqual(refused.status, 64, "\(bad): \(refused.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path + "/d.kseal"))
        }
    }
}

extension SelectionTests {
    /// As root, owners are restored unless --no-same-owner, which also clears set-id bits.
    func testNoSameOwner() throws {
        guard getuid() == 0 else { throw XCTSkip("restoring owners needs root (CI runs as root)") }
        try shell("cd '\(scratch.path)' && chmod 4755 src/a/y.c")
        XCTAssertEqual(try CLITests.run(["create", "-k", key, "--owner", "1234", "--group", "55", "a.kseal", "src/a"], in: scratch.path).status, 0)
        for (flags, uid, mode) in [([String](), 1234, 0o4755), (["--no-same-owner"], 0, 0o755)] {
            let out = scratch.path + "/out\(flags.count)"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
            XCTAssertEqual(try CLITests.run(["extract", "-q", "-k", key, "a.kseal", "-C", out] + flags, in: scratch.path).status, 0)
            var st = stat()
            XCTAssertEqual(lstat(out + "/src/a/y.c", &st), 0)
            XCTAssertEqual(Int(st.st_uid), uid, "\(flags)")
            XCTAssertEqual(Int(st.st_mode & 0o7777), mode, "\(flags)")
        }
    }
}
