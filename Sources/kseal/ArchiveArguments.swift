import ArgumentParser
import KsealArchive

/// The archive argument shared by list, verify, extract and info.
struct ArchiveArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The archive to read, or '-' for standard input.", valueName: "archive"))
    var archive: String

    var source: ArchiveSource { archive == "-" ? .standardInput : .file(archive) }

    /// Opens and authenticates the archive up to its frames.
    func open(key: KeyOptions, crypto: CryptoOptions) throws -> ArchiveReader {
        let keyFile = try key.load()
        let selection = try crypto.select()
        return try ArchiveReader(source, keyFile: keyFile, backend: selection.backend)
    }
}
