import ArgumentParser
import KsealCommands

/// The archive argument shared by list, verify, extract and info, with the signing keys trusted.
struct ArchiveArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The archive to read, or '-' for standard input.", valueName: "archive"))
    var archive: String

    @Option(name: .customLong("trust"), help: ArgumentHelp(
        "Trust archives signed by this public key (NAME.pub, from kseal keygen --signing); repeatable. With any key trusted, other archives are refused (status 8).",
        valueName: "path"))
    var trust: [String] = []

    @Option(name: .customLong("trust-dir"), help: ArgumentHelp(
        "Also trust every *.pub key in this directory (default \(ReaderInput.defaultTrustDirectory), where a missing directory trusts nothing); a directory given here must exist and hold a key.",
        valueName: "dir"))
    var trustDirectory: String?
}

/// Everything a command that reads an archive takes, in one group: the archive and the signers
/// trusted, the keys or passphrases that open it, and the crypto backend.
struct ArchiveInput: ParsableArguments {
    @OptionGroup var archive: ArchiveArgument
    @OptionGroup var key: KeyOptions
    @OptionGroup var crypto: CryptoOptions

    var path: String { archive.archive }

    /// As KsealCommands takes it.
    var reader: ReaderInput {
        var input = ReaderInput(archive: archive.archive)
        input.trust = archive.trust
        input.trustDirectory = archive.trustDirectory
        input.keys = key.sources
        input.crypto = crypto.choice
        return input
    }
}

/// `--progress` for create, verify and extract.
struct ProgressOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Progress on stderr: auto (a status line when stderr is a terminal, unless --quiet), json (one JSON object per line), none.",
        valueName: "mode"))
    var progress: ProgressMode = .auto
}

extension ProgressMode: ExpressibleByArgument {}
