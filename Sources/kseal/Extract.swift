import ArgumentParser
import KsealArchive

struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract an archive, verifying every chunk before its bytes reach a file.",
        discussion: "Reads the archive once, front to back, so '-' extracts from a pipe. Files appear under their names only "
            + "when complete and verified; damaged files are named and left out. Nothing is written outside DIR."
    )

    @OptionGroup var archive: ArchiveArgument

    @Argument(help: ArgumentHelp("Extract only these paths (and what lies beneath them).", valueName: "path"))
    var paths: [String] = []

    @Option(name: .customShort("C"), help: ArgumentHelp("Extract into this existing directory.", valueName: "dir"))
    var directory: String = "."

    @Flag(name: .long, help: "Write the selected files' contents to standard output instead.")
    var stdout = false

    @OptionGroup var key: KeyOptions
    @OptionGroup var cryptoOptions: CryptoOptions

    func run() throws {
        try Failure.guarding {
            let reader = try archive.open(key: key, crypto: cryptoOptions)
            TemporaryFiles.installSignalHandlers()
            var options = ExtractOptions()
            options.selection = paths.map(\.pathBytes)
            let report = try Extractor.extract(reader, to: stdout ? .standardOutput : .directory(directory), options: options)
            for damage in report.failed + report.refused + report.ioFailures {
                Console.error(String(decoding: damage.path, as: UTF8.self) + ": " + damage.reason)
            }
            for problem in report.archiveProblems { Console.error("archive: \(problem)") }
            cryptoOptions.note("extracted \(report.restored) entries" + (report.isComplete ? "" : "; some entries were NOT restored"))
            if !report.refused.isEmpty { throw ExitCode(ExitStatus.refused.rawValue) }
            if !report.failed.isEmpty || !report.archiveProblems.isEmpty { throw ExitCode(ExitStatus.damaged.rawValue) }
            if !report.ioFailures.isEmpty { throw ExitCode(ExitStatus.ioError.rawValue) }
        }
    }
}
