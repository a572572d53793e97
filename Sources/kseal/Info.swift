import ArgumentParser
import KsealCommands
import KsealArchive

struct Info: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        abstract: "Show an archive's format, cipher suite, sizes, chunk count and savings.",
        discussion: "Reads and authenticates the header and index only."
    )

    @OptionGroup var input: ArchiveInput
    @Flag(name: .long, help: "Print the information as one JSON object.")
    var json = false


    func run() throws {
        try InfoCommand.run(input.reader, json: json)
    }
}
