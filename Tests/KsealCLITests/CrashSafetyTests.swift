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

    override func setUpWithError() throws {
        scratch = try ScratchDirectory("kseal-crash")
        key = scratch.path + "/key"
        XCTAssertEqual(try run(["keygen", "-o", key], withKey: false), 0)
        let tree = try scratch.sub("tree")
        var random = TestRandom(seed: 21)
        for i in 0..<24 { try Data(random.bytes(1_500_000 + i)).write(to: URL(fileURLWithPath: tree + "/f\(i)")) }
        try Data(String(repeating: "compressible ", count: 200_000).utf8).write(to: URL(fileURLWithPath: tree + "/text"))
    }

    private func start(_ arguments: [String], withKey: Bool = true) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = arguments + (withKey ? ["-q", "--crypto", "userspace", "-k", key] : [])
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
    private func run(_ arguments: [String], withKey: Bool = true) throws -> Int32 {
        let process = try start(arguments, withKey: withKey)
        process.waitUntilExit()
        return process.terminationStatus
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
        for trial in 0..<20 {
            let process = try start(["create", "archive.kseal", "tree"])
            if killAfter(process, microseconds: UInt32(random.next() % span)) { killedMidway += 1 }
            let now = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/archive.kseal"))
            if now != previous {
                XCTAssertEqual(try run(["verify", "archive.kseal"]), 0, "trial \(trial): a changed archive must be a complete new one")
            }
            XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: scratch.path)), before, "trial \(trial): stray files")
        }
        print("create: \(killedMidway) of 20 kills landed while kseal was running (a run takes \(span) µs)")
        XCTAssertGreaterThan(killedMidway, 5, "the kills must mostly land mid-way for this test to mean anything")
    }

    func testExtractKilledMidwayThenRerunCompletes() throws {
        XCTAssertEqual(try run(["create", "archive.kseal", "tree"]), 0)
        let out = try scratch.sub("out")
        let span = try duration(["extract", "archive.kseal", "-C", try scratch.sub("timing")])
        var random = TestRandom(seed: 2)
        var killedMidway = 0
        for trial in 0..<5 {
            let process = try start(["extract", "archive.kseal", "-C", out])
            if killAfter(process, microseconds: UInt32(random.next() % span)) { killedMidway += 1 }
            // Whatever is there under a name is complete and correct.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: out + "/tree")) ?? [] {
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/tree/" + name)),
                               try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/tree/" + name)), "trial \(trial): \(name) incomplete")
            }
            XCTAssertEqual(try run(["extract", "archive.kseal", "-C", out]), 0, "trial \(trial): rerun")
            XCTAssertEqual(try TreeSnapshot(of: scratch.path + "/tree").differences(from: TreeSnapshot(of: out + "/tree")), [], "trial \(trial)")
        }
        XCTAssertGreaterThan(killedMidway, 2)
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
