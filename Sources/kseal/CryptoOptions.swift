import ArgumentParser
import KsealCommands
import KsealCrypto

extension BackendPreference: ExpressibleByArgument {}

/// `--crypto`, which every command accepts.
struct CryptoOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Crypto backend: auto, kernel or userspace.", valueName: "backend"))
    var crypto: BackendPreference = .auto

    @Flag(name: .shortAndLong, help: "Print no notes on stderr (errors and warnings still appear).")
    var quiet = false

    var choice: CryptoChoice { CryptoChoice(preference: crypto, quiet: quiet) }
}

/// `--key-file` and `--key-keyring`, with `KSEAL_KEY_FILE` and the default key as fallbacks.
struct KeyOptions: ParsableArguments {
    @Option(name: [.customShort("k"), .long], help: ArgumentHelp(
        "A 32-byte key file (default: $KSEAL_KEY_FILE, else the default key made by 'kseal keygen'). Repeatable: create makes a key slot for each, other commands use whichever opens.",
        valueName: "path"))
    var keyFile: [String] = []

    @Option(name: .customLong("key-keyring"), help: ArgumentHelp(
        "A key the kernel holds, by description (kseal:fleet) or serial: used through AF_ALG, never read (format 2, Linux 6.2 or later). Repeatable.",
        valueName: "key"))
    var keyKeyring: [String] = []

    @Flag(name: .customLong("passphrase"), help: "Ask for a passphrase on the terminal (create asks twice and adds a passphrase slot; format 2).")
    var askPassphrase = false

    @Option(name: .customLong("passphrase-file"), help: ArgumentHelp(
        "Read the passphrase from the first line of this file (default: $KSEAL_PASSPHRASE_FILE).", valueName: "path"))
    var passphraseFile: String?

    var sources: KeySources { KeySources(keyFiles: keyFile, keyrings: keyKeyring, askPassphrase: askPassphrase, passphraseFile: passphraseFile) }
}

/// Path arguments as bytes.
extension String {
    var pathBytes: [UInt8] { Array(utf8) }
}
