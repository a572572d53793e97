import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import KsealArchive
import KsealCommands
import KsealCrypto

@main
struct Kseal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kseal",
        abstract: "Sealed archives: zstd-compressed chunks sealed with AES-256-GCM, by the kernel crypto API where it can.",
        discussion: "Exit status: 0 success, 1 damaged archive, 2 wrong key, 3 I/O error, 4 crypto backend unavailable, "
            + "5 unsupported archive, 6 refused unsafe entry, 7 completed with losses, 8 not trusted, 64 usage error, 70 internal error. See kseal(1).",
        version: KsealVersion.string + (Build.hasUserspaceBackend ? "" : " (kernel-only)"),
        subcommands: [Keygen.self, Create.self, List.self, Verify.self, Extract.self, Info.self, RekeyCommand.self, Doctor.self]
    )

    /// ArgumentParser's `main`, with one addition: a command whose output could not be written
    /// ends with status 3 and says so, never with 0.
    /// Errors of every command are caught here, once: one line on stderr, the documented status,
    /// and for `--json` one JSON error object on stdout.
    static func main() {
        ProcessEnvironment.limitMallocArenas(2)
        var command: any ParsableCommand
        let arguments = BulkPaths.split(Array(CommandLine.arguments.dropFirst()))
        // `kseal help NAME` for no such command: ArgumentParser would print the root help and exit 0.
        let commands = configuration.subcommands.map { $0._commandName }
        if arguments.first == "help", let name = arguments.dropFirst().first(where: { !$0.hasPrefix("-") }), !(commands + ["help"]).contains(name) {
            Console.error("help: no command '\(name)'; the commands are \(commands.joined(separator: ", "))")
            Glibc.exit(ExitStatus.usage.rawValue)
        }
        do { command = try parseAsRoot(arguments) } catch {
            if arguments.contains("--json"), exitCode(for: error) != .success {
                Console.print(JSON.encode(.object([("ok", .bool(false)), ("status", .int(Int64(ExitStatus.usage.rawValue))),
                                                   ("class", .string("usage")), ("message", .string(message(for: error)))])))
            }
            exit(withError: error)
        }
        let json = (command as? JSONReporting)?.json ?? false
        do { try Environment.checkWorkers() } catch { Glibc.exit(Failure.report(error, json: json).rawValue) }
        // A bare `kseal` is a usage error, not a success: the help goes to stderr, status 64.
        if arguments.isEmpty {
            Console.writeError(helpMessage() + "\n")
            Glibc.exit(ExitStatus.usage.rawValue)
        }
        do {
            try command.run()
            try Console.finishStandardOutput()
        } catch let error where Failure.handles(error) {
            Glibc.exit(Failure.report(error, json: json).rawValue)
        } catch {
            exit(withError: error)  // ArgumentParser's own: help requests, validation errors
        }
    }
}

/// Commands with a `--json` flag: their failures are also reported as a JSON object on stdout.
protocol JSONReporting {
    var json: Bool { get }
}
