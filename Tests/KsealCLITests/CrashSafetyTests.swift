import Foundation
import KsealTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// kill -9 and full disks: never a partial archive, never a half-written file under its name,
/// never a stray temporary file.
final class CrashSafetyTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var key: String!

    // XCTest keeps every test case object to the end of the run: drop the scratch directory
    // (which its deinit removes) when the test ends, not never.
    override func tearDown() {
        scratch = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        (scratch, key) = try CLITests.scratchWithKey("kseal-crash")
        let tree = try scratch.sub("tree")
        var random = TestRandom(seed: 21)
        for i in 0..<24 { try Data(random.bytes(1_500_000 + i)).write(to: URL(fileURLWithPath: tree + "/f\(i)")) }
        try Data(String(repeating: "compressible ", count: 200_000).utf8).write(to: URL(fileURLWithPath: tree + "/text"))
    }

    /// Starts kseal with the test's key, in user space, quietly (with `environment` added).
    private func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.arguments = arguments + ["-q", "--crypto", "userspace", "-k", key]
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// How long an uninterrupted run takes, in microseconds: kills are aimed inside it.
    private func duration(_ arguments: [String]) throws -> UInt64 {
        let started = DispatchTime.now().uptimeNanoseconds
        XCTAssertEqual(try run(arguments), 0)
        return max((DispatchTime.now().uptimeNanoseconds - started) / 1000, 1000)
    }

    /// Runs kseal to completion and returns its exit status.
    private func run(_ arguments: [String]) throws -> Int32 {
        let process = try start(arguments)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The PID of a process that has run and been reaped: the writer of an abandoned part.
    private func deadProcessID() throws -> pid_t {
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        return finished.processIdentifier
    }

    private func killAfter(_ process: Process, microseconds: UInt32) -> Bool {
        usleep(microseconds)
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return wasRunning && process.terminationReason == .uncaughtSignal
    }

    func testCreateKilledAtRandomMomentsLeavesThePreviousArchiveOrTheNewOne() throws {
        let span = try duration(["create", "archive.kseal", "tree"])
        let previous = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/archive.kseal"))
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path))
        var random = TestRandom(seed: 1)
        var killedMidway = 0
        var partsLeft = 0
        for trial in 0..<20 {
            let process = try start(["create", "archive.kseal", "tree"])
            if killAfter(process, microseconds: UInt32(random.next() % span)) { killedMidway += 1 }
            let now = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/archive.kseal"))
            if now != previous {
                XCTAssertEqual(try run(["verify", "archive.kseal"]), 0, "trial \(trial): a changed archive must be a complete new one")
            }
            // A kill between naming the finished archive and renaming it leaves its part file, named
            // with the killed writer's PID; nothing else may be left.
            let strays = Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path)).subtracting(before)
            let part = "^\\.\(process.processIdentifier)-[0-9a-f]+\\.kseal-part$"
            XCTAssertEqual(strays.filter { $0.range(of: part, options: .regularExpression) == nil }, [], "trial \(trial): stray files")
            partsLeft += strays.count
            // The next run in the directory removes it, as its writer is gone.
            XCTAssertEqual(try run(["create", "archive.kseal", "tree"]), 0)
            XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path)), before, "trial \(trial): parts not swept")
        }
        print("create: \(killedMidway) of 20 kills landed while kseal was running (a run takes \(span) µs); \(partsLeft) part files left and swept")
        XCTAssertGreaterThan(killedMidway, 5, "the kills must mostly land mid-way for this test to mean anything")
    }

    func testExtractKilledMidwayThenRerunCompletes() throws {
        XCTAssertEqual(try run(["create", "archive.kseal", "tree"]), 0)
        let out = try scratch.sub("out")
        let span = try duration(["extract", "archive.kseal", "-C", try scratch.sub("timing")])
        var random = TestRandom(seed: 2)
        var killedMidway = 0, partsLeft = 0
        for trial in 0..<8 {
            let process = try start(["extract", "archive.kseal", "-C", out])
            // Aimed at the first three quarters of a run: its last part is process exit, and a
            // kill there lands after the fact.
            if killAfter(process, microseconds: UInt32(random.next() % (span * 3 / 4))) { killedMidway += 1 }
            // Whatever is there under a name is complete and correct; the one exception is a file
            // killed between naming and renaming it, under a part name with the killed PID.
            let part = "^\\.\(process.processIdentifier)-[0-9a-f]+\\.kseal-part$"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: out + "/tree")) ?? [] {
                if name.range(of: part, options: .regularExpression) != nil { partsLeft += 1; continue }
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/tree/" + name)),
                               try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/tree/" + name)), "trial \(trial): \(name) incomplete")
            }
            // The rerun completes the tree and removes the part: the trees are then the same.
            XCTAssertEqual(try run(["extract", "archive.kseal", "-C", out]), 0, "trial \(trial): rerun")
            XCTAssertEqual(try TreeSnapshot(of: scratch.path + "/tree").differences(from: TreeSnapshot(of: out + "/tree")), [], "trial \(trial)")
        }
        print("extract: \(killedMidway) of 8 kills landed while kseal was running; \(partsLeft) part files left and swept")
        XCTAssertGreaterThan(killedMidway, 3, "the kills must mostly land mid-way for this test to mean anything")
    }

    /// Part files are removed only when their writer is provably gone: its PID is not running and
    /// nobody holds the file's lock. Anything else hidden is left alone.
    func testNextWriterRemovesOnlyAbandonedParts() throws {
        let dir = try scratch.sub("parts")
        let dead = try deadProcessID(), alive = getpid()
        func make(_ name: String) throws -> String {
            let path = dir + "/" + name
            try Data("part".utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let abandoned = try make(".\(dead)-a1.kseal-part")
        let ofLiveWriter = try make(".\(alive)-b2.kseal-part")
        let locked = try make(".\(dead)-c3.kseal-part")
        let notAPart = try make(".\(dead)-d4.kseal-partial")
        let foreign = try make(".kseal-part")
        let abandonedLink = dir + "/.\(dead)-e5.kseal-part"
        try FileManager.default.createSymbolicLink(atPath: abandonedLink, withDestinationPath: "elsewhere")
        let lock = open(locked, O_RDONLY | O_CLOEXEC)
        XCTAssertEqual(flock(lock, LOCK_EX), 0)
        defer { close(lock) }

        XCTAssertEqual(try run(["create", dir + "/archive.kseal", "tree"]), 0)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        XCTAssertEqual(left, Set([ofLiveWriter, locked, notAPart, foreign].map { ($0 as NSString).lastPathComponent } + ["archive.kseal"]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: abandoned))

        // Extraction sweeps the directories it writes into that were there before.
        let out = try scratch.sub("out")
        try FileManager.default.createDirectory(atPath: out + "/tree", withIntermediateDirectories: true)
        let inTree = out + "/tree/.\(dead)-f6.kseal-part"
        try Data("part".utf8).write(to: URL(fileURLWithPath: inTree))
        XCTAssertEqual(try run(["extract", dir + "/archive.kseal", "-C", out]), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: inTree), "a part in an existing target directory survived")
    }

    /// A reader writes an index image of over 256 KiB into `$TMPDIR` for SQLite, under a part
    /// name it unlinks at once; killed in between, it leaves the part there. The next reader (no
    /// writer may ever come to `$TMPDIR`) removes it, and leaves a live writer's part alone.
    func testReaderRemovesAbandonedIndexScratchFromTMPDIR() throws {
        let tree = try scratch.sub("many")
        for i in 0..<2_000 { try Data("file \(i)\n".utf8).write(to: URL(fileURLWithPath: tree + "/f\(i)")) }
        XCTAssertEqual(try run(["create", "many.kseal", "many"]), 0)
        let temporary = try scratch.sub("tmp")
        let abandoned = temporary + "/.\(try deadProcessID())-a1.kseal-part"
        let ofLiveWriter = temporary + "/.\(getpid())-b2.kseal-part"
        for path in [abandoned, ofLiveWriter] { try Data("index".utf8).write(to: URL(fileURLWithPath: path)) }

        let verify = try start(["verify", "many.kseal"], environment: ["TMPDIR": temporary])
        verify.waitUntilExit()
        XCTAssertEqual(verify.terminationStatus, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temporary), [(ofLiveWriter as NSString).lastPathComponent])
    }

    /// A tmpfs of 2 MiB (needs root to mount; CI runs as root).
    func testOutOfSpaceDuringCreateAndExtract() throws {
        guard geteuid() == 0 else { throw XCTSkip("mounting a small tmpfs needs root") }
        let small = try scratch.sub("small")
        try shell("mount -t tmpfs -o size=2m tmpfs '\(small)'")
        defer { _ = try? shell("umount '\(small)'") }
        let create = Process()
        XCTAssertEqual(try run(["create", small + "/archive.kseal", "tree"]), 3, "create on a full disk: I/O error")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: small), [], "no partial archive")
        _ = create
        XCTAssertEqual(try run(["create", "archive.kseal", "tree"]), 0)
        XCTAssertEqual(try run(["extract", "archive.kseal", "-C", small]), 3, "extract on a full disk: I/O error")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: small + "/tree")) ?? [] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: small + "/tree/" + name)),
                           try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/tree/" + name)), "\(name) presented incomplete")
        }
        let hidden = try shell("find '\(small)' -name '.*' | wc -l").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(hidden, "0", "no temporary files left")
    }
}
