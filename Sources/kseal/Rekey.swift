import ArgumentParser
import KsealArchive
import KsealCommands

struct RekeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rekey",
        abstract: "Add or remove an archive's key slots without touching its contents.",
        discussion: "Opens the archive with -k or a passphrase, then rewrites only its header, key slots and header MAC (and the signature of a "
            + "signed archive, with --sign): the sealed index and the frames are copied as they are (copy_file_range), never decrypted. "
            + "The archive is replaced atomically, keeping its mode and owner; through a symlink, the file it names is. Removed slots are "
            + "freed, not renumbered; kseal info lists them."
    )

    @Argument(help: ArgumentHelp("The archive to change, in place.", valueName: "archive"))
    var archive: String

    @Option(name: .customLong("add-key"), help: ArgumentHelp("Add a key slot for this key file (repeatable).", valueName: "path"))
    var addKey: [String] = []

    @Option(name: .customLong("add-key-keyring"), help: ArgumentHelp("Add a key slot for this kernel-held key, by description or serial (repeatable).", valueName: "key"))
    var addKeyKeyring: [String] = []

    @Flag(name: .customLong("add-passphrase"), help: "Add a passphrase slot, asking for the passphrase twice on the terminal.")
    var addPassphrase = false

    @Option(name: .customLong("add-passphrase-file"), help: ArgumentHelp("Add a passphrase slot for the first line of this file.", valueName: "path"))
    var addPassphraseFile: String?

    @Option(name: .customLong("remove-slot"), help: ArgumentHelp("Free key slot N (0-based, as kseal info counts; repeatable).", valueName: "n"))
    var removeSlot: [Int] = []

    @Option(name: .customLong("sign"), help: ArgumentHelp("Sign the changed archive with this signing key (required for a signed archive).", valueName: "path"))
    var sign: String?

    @Flag(name: .customLong("break-hard-links"), help: "Rekey an archive that has other hard links: only this name gets the new slots, the others keep the old ones.")
    var breakHardLinks = false

    @OptionGroup var key: KeyOptions
    @OptionGroup var cryptoOptions: CryptoOptions

    func run() throws {
        var changes = RekeyChanges()
        changes.breakHardLinks = breakHardLinks
        changes.addKeyFiles = try addKey.map { try KeyFile.read(path: $0, warn: Console.warn) } + addKeyKeyring.map(KeyFile.inKernel)
        if let addPassphraseFile { changes.addPassphrases.append(try Passphrase.read(path: addPassphraseFile)) }
        if addPassphrase { changes.addPassphrases.append(try PassphrasePrompt.ask(confirm: true)) }
        changes.removeSlots = removeSlot
        changes.signingKey = try sign.map { try SigningKey.read(path: $0, warn: Console.warn) }
        let passphrases = try key.sources.loadPassphrases(confirm: false)
        let keyFiles = try key.sources.load(besides: passphrases)
        let selection = try cryptoOptions.choice.select()
        let summary = try Rekey.rekey(archive, keyFiles: keyFiles, passphrases: passphrases, changes: changes, backend: selection.backend)
        cryptoOptions.choice.note("rekeyed \(archive): key slots now \(Text.slotKinds(summary.slotKinds.filter { $0 != 0 }))"
            + (summary.slotKinds.contains(0) ? " and \(summary.slotKinds.filter { $0 == 0 }.count) free" : "")
            + "; \(summary.bytesCopied) bytes copied unchanged")
    }
}
