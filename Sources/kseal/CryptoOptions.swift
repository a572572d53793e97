import ArgumentParser
import FoundationEssentials
import KsealArchive
import KsealCrypto

extension BackendPreference: ExpressibleByArgument {}

/// `--crypto`, which every command accepts.
struct CryptoOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Crypto backend: auto, kernel or userspace.", valueName: "backend"))
    var crypto: BackendPreference = .auto

    @Flag(name: .shortAndLong, help: "Print no notes on stderr (errors and warnings still appear).")
    var quiet = false

    /// Selects the backend once for the command and says which ran and why.
    func select() throws -> BackendSelection {
        let selection = try CryptoBackends.select(crypto)
        if !quiet { Console.error("crypto: \(selection.summary)") }
        return selection
    }

    /// The same choice without the notes (for a second pass over the same archive).
    var silenced: CryptoOptions {
        var copy = self
        copy.quiet = true
        return copy
    }

    func note(_ message: String) {
        if !quiet { Console.error(message) }
    }
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

    /// The passphrase given, if any: from --passphrase-file or KSEAL_PASSPHRASE_FILE, else asked
    /// for on the terminal with --passphrase (twice when `confirm`).
    func loadPassphrases(confirm: Bool) throws -> [Passphrase] {
        if let path = passphraseFile ?? Environment.value("KSEAL_PASSPHRASE_FILE") { return [try Passphrase.read(path: path)] }
        return askPassphrase ? [try PassphrasePrompt.ask(confirm: confirm)] : []
    }

    /// The keys given, in order (key files, then kernel keys), else, unless `passphrases` were
    /// given, the fallback key file.
    func load(besides passphrases: [Passphrase] = []) throws -> [KeyFile] {
        let given = try keyFile.map { try KeyFile.read(path: $0, warn: Console.warn) } + keyKeyring.map(KeyFile.inKernel)
        guard given.isEmpty, passphrases.isEmpty else { return given }
        // Without flags: KSEAL_KEY_FILE, then the default key.
        let environment = Environment.value("KSEAL_KEY_FILE")
        let path = environment ?? DefaultKey.path
        if environment == nil, !FileManager.default.fileExists(atPath: path) {
            throw ArchiveError(.usage, "no key: pass --key-file, set KSEAL_KEY_FILE, or run 'kseal keygen' to make the default key \(path)")
        }
        return [try KeyFile.read(path: path, warn: Console.warn)]
    }
}

/// The default key: $XDG_CONFIG_HOME/kseal/default.key (~/.config/kseal/default.key).
enum DefaultKey {
    static var path: String {
        let base = Environment.value("XDG_CONFIG_HOME") ?? ((ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.config")
        return base + "/kseal/default.key"
    }
}

/// Environment variables as kseal reads them: set to an empty string is the same as unset (as
/// for XDG variables), so `KSEAL_KEY_FILE=""` never names a file called "".
enum Environment {
    static func value(_ name: String) -> String? { ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } }
}

/// Path arguments as bytes.
extension String {
    var pathBytes: [UInt8] { Array(utf8) }
}
