import ArgumentParser
import KsealArchive

/// The archive argument shared by list, verify, extract and info.
struct ArchiveArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The archive to read, or '-' for standard input.", valueName: "archive"))
    var archive: String

    var source: ArchiveSource { archive == "-" ? .standardInput : .file(archive) }

    /// Opens and authenticates the archive up to its frames.
    func open(key: KeyOptions, crypto: CryptoOptions) throws -> ArchiveReader {
        let keyFiles = try key.load()
        let selection = try crypto.select()
        return try ArchiveReader(source, keyFiles: keyFiles, backend: selection.backend)
    }
}
