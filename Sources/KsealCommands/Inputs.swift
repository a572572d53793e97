#if canImport(Glibc)
import Glibc
#endif
import KsealArchive
import KsealCrypto

/// `--crypto` and `--quiet`, which every command takes: the backend wanted and whether notes
/// are printed.
public struct CryptoChoice: Sendable {
    public var preference: BackendPreference
    public var quiet: Bool

    public init(preference: BackendPreference = .auto, quiet: Bool = false) {
        self.preference = preference
        self.quiet = quiet
    }

    /// Selects the backend once for the command and says which ran and why.
    public func select() throws -> BackendSelection {
        let selection = try CryptoBackends.select(preference)
        if !quiet { Console.error("crypto: \(selection.summary)") }
        return selection
    }

    /// The same choice without the notes (for a second pass over the same archive).
    public var silenced: CryptoChoice { CryptoChoice(preference: preference, quiet: true) }

    public func note(_ message: String) {
        if !quiet { Console.error(message) }
    }
}

/// `--key-file`, `--key-keyring`, `--passphrase` and `--passphrase-file`, with
/// `KSEAL_KEY_FILE`, `KSEAL_PASSPHRASE_FILE` and the default key as fallbacks.
public struct KeySources: Sendable {
    public var keyFiles: [String] = []
    public var keyrings: [String] = []
    public var askPassphrase = false
    public var passphraseFile: String?

    public init(keyFiles: [String] = [], keyrings: [String] = [], askPassphrase: Bool = false, passphraseFile: String? = nil) {
        self.keyFiles = keyFiles
        self.keyrings = keyrings
        self.askPassphrase = askPassphrase
        self.passphraseFile = passphraseFile
    }

    /// The passphrase given, if any: from --passphrase-file or KSEAL_PASSPHRASE_FILE, else asked
    /// for on the terminal with --passphrase (twice when `confirm`).
    public func loadPassphrases(confirm: Bool) throws -> [Passphrase] {
        if let path = passphraseFile ?? Environment.value("KSEAL_PASSPHRASE_FILE") { return [try Passphrase.read(path: path)] }
        return askPassphrase ? [try PassphrasePrompt.ask(confirm: confirm)] : []
    }

    /// The keys given, in order (key files, then kernel keys), else, unless `passphrases` were
    /// given, the fallback key file.
    public func load(besides passphrases: [Passphrase] = []) throws -> [KeyFile] {
        let given = try keyFiles.map { try KeyFile.read(path: $0, warn: Console.warn) } + keyrings.map(KeyFile.inKernel)
        guard given.isEmpty, passphrases.isEmpty else { return given }
        // Without flags: KSEAL_KEY_FILE, then the default key.
        let environment = Environment.value("KSEAL_KEY_FILE")
        let path = environment ?? DefaultKey.path
        if environment == nil, access(path, F_OK) != 0 {
            throw ArchiveError(.usage, "no key: pass --key-file, set KSEAL_KEY_FILE, or run 'kseal keygen' to make the default key \(path)")
        }
        return [try KeyFile.read(path: path, warn: Console.warn)]
    }
}

/// The default key: $XDG_CONFIG_HOME/kseal/default.key (~/.config/kseal/default.key).
public enum DefaultKey {
    public static var path: String {
        let base = Environment.value("XDG_CONFIG_HOME") ?? ((Environment.value("HOME") ?? "/root") + "/.config")
        return base + "/kseal/default.key"
    }
}

/// Environment variables as kseal reads them: set to an empty string is the same as unset (as
/// for XDG variables), so `KSEAL_KEY_FILE=""` never names a file called "".
public enum Environment {
    public static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }

    /// KSEAL_WORKERS, checked once before any command runs instead of ignored when it makes no sense.
    public static func checkWorkers() throws {
        guard let workers = getenv("KSEAL_WORKERS").map({ String(cString: $0) }) else { return }
        guard let n = Int(workers), (1...64).contains(n) else {
            throw ArchiveError(.usage, "KSEAL_WORKERS=\(workers): give a number of threads from 1 to 64")
        }
    }
}

/// What list, verify, extract and info read: the archive, the signers trusted, the keys and the
/// backend.
public struct ReaderInput: Sendable {
    public static let defaultTrustDirectory = "/etc/kseal/trusted.d"

    public var archive: String
    public var trust: [String] = []
    /// nil: ``defaultTrustDirectory``, which may be missing; a directory given must hold a key.
    public var trustDirectory: String?
    public var keys = KeySources()
    public var crypto = CryptoChoice()

    public init(archive: String) { self.archive = archive }

    var source: ArchiveSource { archive == "-" ? .standardInput : .file(archive) }

    /// Opens and authenticates the archive up to its frames, and says how it is signed (notes on
    /// stderr unless `quietly`).
    public func open(quietly: Bool = false) throws -> ArchiveReader {
        let crypto = quietly ? self.crypto.silenced : self.crypto
        let passphrases = try keys.loadPassphrases(confirm: false)
        let keyFiles = try keys.load(besides: passphrases)
        let policy = try TrustPolicy.load(files: trust, directory: trustDirectory ?? Self.defaultTrustDirectory,
                                          required: trustDirectory != nil)
        let selection = try crypto.select()
        let reader = try ArchiveReader(source, keyFiles: keyFiles, passphrases: passphrases, backend: selection.backend, trust: policy)
        if case .signed = reader.signature { crypto.note(Self.signature(of: reader)) }
        return reader
    }

    /// How `reader`'s archive is signed, in the words of the note every reading command prints
    /// and of info's `signature:` line.
    static func signature(of reader: ArchiveReader) -> String {
        switch reader.signature {
        case .unsigned: return "unsigned"
        case .signed(let signer, let trusted):
            let checked = reader.signatureCheckedBy ?? "?"
            return "signed by \(signer)" + (trusted == true ? " (trusted" : " (no key is trusted here")
                + (checked.hasPrefix("not checked") ? "; \(checked))" : "; checked in \(checked))")
        }
    }
}
