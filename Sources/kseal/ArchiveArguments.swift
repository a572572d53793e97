import ArgumentParser
import KsealArchive

/// The archive argument shared by list, verify, extract and info, with the signing keys trusted.
struct ArchiveArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The archive to read, or '-' for standard input.", valueName: "archive"))
    var archive: String

    @Option(name: .customLong("trust"), help: ArgumentHelp(
        "Trust archives signed by this public key (NAME.pub, from kseal keygen --signing); repeatable. With any key trusted, other archives are refused (status 8).",
        valueName: "path"))
    var trust: [String] = []

    @Option(name: .customLong("trust-dir"), help: ArgumentHelp(
        "Also trust every *.pub key in this directory; a missing directory trusts nothing.",
        valueName: "dir"))
    var trustDirectory: String = Self.defaultTrustDirectory

    static let defaultTrustDirectory = "/etc/kseal/trusted.d"

    var source: ArchiveSource { archive == "-" ? .standardInput : .file(archive) }

    /// Opens and authenticates the archive up to its frames, and says how it is signed.
    func open(key: KeyOptions, crypto: CryptoOptions) throws -> ArchiveReader {
        let passphrases = try key.loadPassphrases(confirm: false)
        let keyFiles = try key.load(besides: passphrases)
        let policy = try TrustPolicy.load(files: trust, directory: trustDirectory)
        let selection = try crypto.select()
        let reader = try ArchiveReader(source, keyFiles: keyFiles, passphrases: passphrases, backend: selection.backend, trust: policy)
        switch reader.signature {
        case .unsigned: break
        case .signed(let signer, let trusted):
            crypto.note("signed by \(signer)" + (trusted == true ? " (trusted" : " (no key is trusted here") + "; checked in \(reader.signatureCheckedBy ?? "?"))")
        }
        return reader
    }
}

/// Everything a command that reads an archive takes, in one group: the archive and the signers
/// trusted, the keys or passphrases that open it, and the crypto backend.
struct ArchiveInput: ParsableArguments {
    @OptionGroup var archive: ArchiveArgument
    @OptionGroup var key: KeyOptions
    @OptionGroup var crypto: CryptoOptions

    var path: String { archive.archive }

    /// Opens and authenticates the archive up to its frames (notes on stderr unless `quietly`).
    func open(quietly: Bool = false) throws -> ArchiveReader {
        try archive.open(key: key, crypto: quietly ? crypto.silenced : crypto)
    }
}
