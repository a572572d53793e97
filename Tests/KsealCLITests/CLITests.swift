import Foundation
import KsealTestSupport
import XCTest

/// The kseal executable as a user runs it: arguments, exit statuses, stdout/stderr, pipes.
final class CLITests: XCTestCase {
    struct Result {
        let status: Int32
        let stdout: Data
        let stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    static var binary: String {
        let directory = ProcessInfo.processInfo.environment["KSEAL_BIN_DIR"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        return directory + "/kseal"
    }

    /// Runs `kseal ARGS` (through /bin/sh when `shell` is given, with $KSEAL standing for the binary).
    @discardableResult
    func kseal(_ arguments: [String], shell script: String? = nil, environment: [String: String] = [:], in directory: String? = nil) throws -> Result {
        try Self.run(arguments, shell: script, environment: environment, in: directory)
    }

    /// ``kseal(_:shell:environment:in:)`` for other test classes.
    @discardableResult
    static func run(_ arguments: [String], shell script: String? = nil, environment: [String: String] = [:], in directory: String? = nil) throws -> Result {
        let process = Process()
        if let script {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script]
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["KSEAL"] = Self.binary
        env.removeValue(forKey: "KSEAL_KEY_FILE")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }

    private var scratch: ScratchDirectory!
    private var key: String!

    /// A scratch directory with a fresh key file `key` in it, as each CLI test class starts from.
    static func scratchWithKey(_ prefix: String, file: StaticString = #filePath, line: UInt = #line) throws -> (ScratchDirectory, String) {
        let scratch = try ScratchDirectory(prefix)
        let key = scratch.path + "/key"
        XCTAssertEqual(try run(["keygen", "-o", key]).status, 0, "keygen", file: file, line: line)
        return (scratch, key)
    }

    // XCTest keeps every test case object to the end of the run: drop the scratch directory
    // (which its deinit removes) when the test ends, not never.
    override func tearDown() {
        scratch = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        (scratch, key) = try Self.scratchWithKey("kseal-cli")
        try shell("mkdir -p '\(scratch.path)/src/d' && cd '\(scratch.path)/src' && echo one > a && seq 1 50000 > d/b && ln -s a l && ln a h && cp d/b d/copy")
    }

    func testKeygenWritesAPrivateKeyAndNeverOverwrites() throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: key)
        XCTAssertEqual((attributes[.posixPermissions] as? Int), 0o600)
        XCTAssertEqual((attributes[.size] as? Int), 32)
        let again = try kseal(["keygen", "-o", key])
        XCTAssertEqual(again.status, 64)
        XCTAssertTrue(again.stderr.contains("exists"), again.stderr)
    }

    func testCreateVerifyExtractAndExitStatuses() throws {
        let archive = scratch.path + "/a.kseal"
        XCTAssertEqual(try kseal(["create", archive, "src", "-k", key], in: scratch.path).status, 0)
        let verify = try kseal(["verify", archive, "-k", key])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.text.hasPrefix("ok:"), verify.text)
        XCTAssertTrue(verify.stderr.contains("crypto: "), "the backend and its reason are printed: \(verify.stderr)")
        let out = try scratch.sub("out")
        XCTAssertEqual(try kseal(["extract", archive, "-C", out, "-k", key]).status, 0)
        XCTAssertEqual(try TreeSnapshot(of: scratch.path + "/src").differences(from: TreeSnapshot(of: out + "/src")), [])

        // Wrong key: 2, at the slot.
        let other = scratch.path + "/other"
        try kseal(["keygen", "-o", other])
        let wrong = try kseal(["verify", archive, "-k", other])
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains("wrong key"), wrong.stderr)
        // Damaged: 1, naming the file.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        bytes[bytes.count - 30] ^= 1
        try bytes.write(to: URL(fileURLWithPath: archive))
        let damaged = try kseal(["verify", archive, "-k", key])
        XCTAssertEqual(damaged.status, 1)
        XCTAssertTrue(damaged.text.contains("damaged: "), damaged.text)
        // Progress as JSON lines on stderr, ending with the finished total.
        let progress = try kseal(["verify", "-q", "--progress", "json", archive, "-k", key])
        let lines = progress.stderr.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertFalse(lines.isEmpty, progress.stderr)
        XCTAssertEqual(lines.last?["finished"] as? Bool, true)
        XCTAssertEqual(lines.last?["bytes_done"] as? Int, lines.last?["bytes_total"] as? Int)
        XCTAssertEqual(try kseal(["verify", archive, "-k", key, "--progress", "none", "-q"]).stderr, "", "silent when asked")
        // --verify-first writes nothing at all from a damaged archive.
        let nothing = try scratch.sub("nothing")
        XCTAssertEqual(try kseal(["extract", "--verify-first", archive, "-C", nothing, "-k", key]).status, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: nothing), [])
        XCTAssertEqual(try kseal(["extract", "--verify-first", "-", "-k", key]).status, 64)
        // Missing archive: I/O error, 3. Usage error: 64.
        XCTAssertEqual(try kseal(["verify", scratch.path + "/missing", "-k", key]).status, 3)
        XCTAssertEqual(try kseal(["create", archive, "-k", key]).status, 64)
        XCTAssertEqual(try kseal(["frobnicate"]).status, 64)
        // One line per error.
        XCTAssertEqual(wrong.stderr.split(separator: "\n").filter { !$0.contains("crypto: ") }.count, 1, wrong.stderr)
    }

    func testStreamingThroughPipesAndTheKeyFromTheEnvironment() throws {
        let out = try scratch.sub("piped")
        let result = try kseal([], shell: "cd '\(scratch.path)' && \"$KSEAL\" create -q - src | \"$KSEAL\" extract -q - -C '\(out)'",
                               environment: ["KSEAL_KEY_FILE": key])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try TreeSnapshot(of: scratch.path + "/src").differences(from: TreeSnapshot(of: out + "/src")), [])
        let single = try kseal([], shell: "cd '\(scratch.path)' && \"$KSEAL\" create -q - src | \"$KSEAL\" extract -q - --stdout src/a",
                               environment: ["KSEAL_KEY_FILE": key])
        XCTAssertEqual(single.text, "one\n")
        // In archive order (src/d/copy, then src/h): a deduplicated file whole, a hard link's content once.
        let linked = try kseal([], shell: "cd '\(scratch.path)' && \"$KSEAL\" create -q - src | \"$KSEAL\" extract -q - --stdout src/h src/d/copy",
                               environment: ["KSEAL_KEY_FILE": key])
        XCTAssertEqual(linked.status, 0, linked.stderr)
        XCTAssertEqual(linked.stdout, (try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/src/d/b"))) + Data("one\n".utf8))
    }

    func testListOfTheFormatVectorMatchesItsListing() throws {
        let vector = try FormatVector()
        let keyFile = scratch.path + "/vector.key"
        try Data(vector.keyBytes).write(to: URL(fileURLWithPath: keyFile))
        let listing = try kseal(["list", "--long", vector.archivePath, "-k", keyFile, "--crypto", "userspace"])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        XCTAssertEqual(listing.stdout, try Data(contentsOf: URL(fileURLWithPath: vector.listingPath)))
        let json = try kseal(["list", "--json", vector.archivePath, "-k", keyFile])
        let entries = try JSONSerialization.jsonObject(with: json.stdout) as? [[String: Any]]
        XCTAssertEqual(entries?.count, 9)
        XCTAssertEqual(entries?.first?["path_hex"] as? String, "636166e9")
        let verify = try kseal(["verify", "--json", vector.archivePath, "-k", keyFile])
        let object = try JSONSerialization.jsonObject(with: verify.stdout) as? [String: Any]
        XCTAssertEqual(object?["ok"] as? Bool, true)
        // No secret in any output: the key in hex or base64, in stdout or stderr, on success or failure.
        let secretForms = [vector.keyBytes.map { String(format: "%02x", $0) }.joined(), Data(vector.keyBytes).base64EncodedString()]
        var outputs = [verify, json, listing]
        outputs.append(try kseal(["info", vector.archivePath, "-k", keyFile]))
        outputs.append(try kseal(["verify", "--json", scratch.path + "/missing", "-k", keyFile]))
        outputs.append(try kseal(["verify", vector.archivePath, "-k", key]))
        for output in outputs {
            for secret in secretForms {
                XCTAssertFalse(output.text.lowercased().contains(secret.lowercased()) || output.stderr.contains(secret), "a secret was printed")
            }
        }
    }

    /// Every flag `--help` shows appears in man/kseal.1, and every subcommand has its section.
    func testHelpAndManPageAgree() throws {
        let manURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("man/kseal.1")
        var man = try String(contentsOf: manURL, encoding: .utf8)
        for escape in ["\\fB", "\\fR", "\\fI", "\\fP"] { man = man.replacingOccurrences(of: escape, with: "") }
        man = man.replacingOccurrences(of: "\\-", with: "-")
        let commands = ["keygen", "create", "list", "verify", "extract", "info", "doctor"]
        let top = try kseal(["--help"]).text
        for command in commands {
            XCTAssertTrue(top.contains(command), "--help lists \(command)")
            XCTAssertTrue(man.contains(".SS \(command)") || man.contains(".SS \"\(command)"), "man/kseal.1 has a section for \(command)")
            let help = try kseal([command, "--help"]).text
            let flags = Set(help.split(whereSeparator: { " ,;\n[]|<>=()".contains($0) }).map(String.init).filter { $0.hasPrefix("-") && $0.count > 1 && $0 != "--" })
            XCTAssertFalse(flags.isEmpty, command)
            for flag in flags { XCTAssertTrue(man.contains(flag), "man/kseal.1 lacks \(flag) (from kseal \(command) --help)") }
        }
        for variable in ["KSEAL_KEY_FILE"] { XCTAssertTrue(man.contains(variable)) }
        for status in ["0", "1", "2", "3", "4", "5", "6", "7", "8", "64", "70"] { XCTAssertTrue(man.contains(".B \(status)\n") || man.contains("\n\(status) "), "exit status \(status) documented") }
    }
}
