#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import KsealCommands
import KsealArchive

struct List: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        abstract: "List the entries of an archive.",
        discussion: "Reads and authenticates the header and index only; 'kseal verify' checks the contents."
    )

    @OptionGroup var input: ArchiveInput

    @Flag(name: .shortAndLong, help: "Show type, mode, owner, size and modification time.")
    var long = false

    @Flag(name: .long, help: "Print a JSON array of entries.")
    var json = false

    @Flag(name: [.customShort("0"), .customLong("null")], help: "End each name with a NUL byte instead of a newline (raw, even on a terminal).")
    var null = false


    func run() throws {
        try ListCommand.run(input.reader, long: long, json: json, null: null)
    }
}
