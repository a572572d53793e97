import ArgumentParser
import KsealCommands

struct Verify: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        abstract: "Authenticate, decompress and hash-check every chunk; name each damaged file.",
        discussion: "Reads only the archive. Exit status 0 when everything verifies, 1 when anything is damaged."
    )

    @OptionGroup var input: ArchiveInput

    @Flag(name: .long, help: "Print the result as one JSON object.")
    var json = false

    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        try VerifyCommand.run(input.reader, json: json, progress: progressOptions.progress)
    }
}
