import ArgumentParser
import KsealArchive
import KsealCrypto

@main
struct Kseal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kseal",
        abstract: "Sealed archives: zstd-compressed chunks sealed with AES-256-GCM, by the kernel crypto API where it can.",
        discussion: "Exit status: 0 success, 1 damaged archive, 2 wrong key, 3 I/O error, 4 crypto backend unavailable, "
            + "5 unsupported archive, 6 refused unsafe entry, 64 usage error, 70 internal error. See kseal(1).",
        version: KsealVersion.string,
        subcommands: [Keygen.self, Create.self, List.self, Verify.self, Extract.self, Info.self, Doctor.self]
    )

    /// ArgumentParser's `main`, with one addition: a command whose output could not be written
    /// ends with status 3 and says so, never with 0.
    static func main() {
        ProcessEnvironment.limitMallocArenas(2)
        var command: any ParsableCommand
        let arguments = BulkPaths.split(Array(CommandLine.arguments.dropFirst()))
        do { command = try parseAsRoot(arguments) } catch { exit(withError: error) }
        do {
            try command.run()
            try Failure.guarding { try Console.finishStandardOutput() }
        } catch {
            exit(withError: error)
        }
    }
}

enum KsealVersion {
    static let string = "0.2.0"
}
