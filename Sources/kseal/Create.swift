#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import KsealArchive
import KsealCommands

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a sealed archive of files and directories.",
        discussion: "Directories are archived recursively; symlinks are stored as links, never followed. ARCHIVE '-' writes to standard output."
    )

    @Argument(help: ArgumentHelp("The archive to write, or '-' for standard output.", valueName: "archive"))
    var archive: String

    @Argument(help: ArgumentHelp("Files and directories to archive.", valueName: "path"))
    var paths: [String] = []

    @Option(name: [.customShort("T"), .customLong("files-from")],
            help: ArgumentHelp("Also archive the paths listed in FILE, one per line ('-' reads standard input).", valueName: "file"))
    var filesFrom: [String] = []

    @Flag(name: .customLong("null"), help: "Lists given to -T and --exclude-from are NUL-separated, not one name per line.")
    var nullSeparated = false

    @Option(name: .customLong("exclude"),
            help: ArgumentHelp("Leave out paths matching this shell pattern, and everything under them (repeatable).", valueName: "pattern"))
    var exclude: [String] = []

    @Option(name: .customLong("exclude-from"), help: ArgumentHelp("Read exclude patterns from FILE, one per line.", valueName: "file"))
    var excludeFrom: [String] = []

    @Option(name: .customLong("owner"), help: ArgumentHelp("Record this owner for every entry: a name, a number, or NAME:NUMBER (the name is recorded, the number wins).", valueName: "user"))
    var owner: String?

    @Option(name: .customLong("group"), help: ArgumentHelp("Record this group for every entry: a name, a number, or NAME:NUMBER (the name is recorded, the number wins).", valueName: "group"))
    var group: String?

    @Flag(name: .customLong("numeric-owner"), help: "Record owner and group numbers only, not this machine's names for them (format 2).")
    var numericOwner = false

    @Option(name: .customLong("mtime"),
            help: ArgumentHelp("Record this modification time for every entry: @SECONDS or a UTC date YYYY-MM-DD[THH:MM[:SS]].", valueName: "date"))
    var mtime: String?

    @Flag(name: .customLong("clamp-mtime"), help: "With --mtime, change only the times that are later than it (reproducible builds).")
    var clampMtime = false

    @Flag(name: .customLong("one-file-system"), help: "Stay on each path's file system: store mount points, not what is mounted on them.")
    var oneFileSystem = false

    @Option(name: .customLong("sign"), help: ArgumentHelp("Sign the archive with this signing key (from kseal keygen --signing; format 2).", valueName: "path"))
    var sign: String?

    @OptionGroup var key: KeyOptions

    @Option(name: .long, help: ArgumentHelp("zstd compression level, 1 to 19.", valueName: "n"))
    var level: Int32 = 3

    @Option(name: .customLong("format"),
            help: ArgumentHelp("Archive format: 2 (the default), or 1 for kseal 0.1 readers: no xattrs, ACLs, devices, FIFOs, owner names or holes.", valueName: "n"))
    var format: UInt16 = 2

    @Flag(name: .long, help: "Replace an existing file at the archive's path even if it is not a kseal archive.")
    var force = false

    @OptionGroup var cryptoOptions: CryptoOptions
    @OptionGroup var progressOptions: ProgressOptions

    func validate() throws {
        guard !paths.isEmpty || !BulkPaths.taken.isEmpty || !filesFrom.isEmpty else { throw ValidationError("name at least one path to archive, or a list with -T") }
        guard (1...19).contains(level) else { throw ValidationError("--level must be 1 to 19") }
        if clampMtime && mtime == nil { throw ValidationError("--clamp-mtime needs --mtime") }
        guard FormatVersion(rawValue: format) != nil else { throw ValidationError("--format must be 1 or 2") }
        _ = try owner.map(Overrides.owner)
        _ = try group.map(Overrides.group)
        _ = try mtime.map(Overrides.mtime)
    }

    func run() throws {
        if archive == "-", isatty(STDOUT_FILENO) != 0 {
            throw ArchiveError(.usage, "refusing to write an archive to a terminal")
        }
        let passphrases = try key.sources.loadPassphrases(confirm: true)
        let keyFiles = try key.sources.load(besides: passphrases)
        let selection = try cryptoOptions.choice.select()
        var options = CreateOptions()
        options.compressionLevel = level
        options.replaceForeignFile = force
        options.oneFileSystem = oneFileSystem
        options.formatVersion = FormatVersion(rawValue: format)!
        options.ownerOverride = try owner.map(Overrides.owner)
        options.groupOverride = try group.map(Overrides.group)
        options.mtimeOverride = try mtime.map(Overrides.mtime)
        options.clampMtime = clampMtime
        options.numericOwner = numericOwner
        options.signingKey = try sign.map { try SigningKey.read(path: $0, warn: Console.warn) }
        let separator = nullSeparated ? 0 : UInt8(ascii: "\n")
        options.exclude = try PathPatterns(exclude.map(\.pathBytes) + excludeFrom.flatMap { try PathList.read($0, separator: separator) })
        let inputs = try (paths + BulkPaths.taken).map(\.pathBytes) + filesFrom.flatMap { try PathList.read($0, separator: separator) }
        guard !inputs.isEmpty else { throw ArchiveError(.usage, "the lists given to -T name no path to archive") }
        options.progress = progressOptions.progress.meter(command: "create", quiet: cryptoOptions.quiet)
        TemporaryFiles.installSignalHandlers()
        let started = DispatchTime.now().uptimeNanoseconds
        let summary = try ArchiveWriter.create(paths: inputs, destination: archive == "-" ? .standardOutput : .file(archive),
                                               keyFiles: keyFiles, passphrases: passphrases, backend: selection.backend, options: options, warn: Console.warn)
        options.progress?.finish()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        cryptoOptions.choice.note("created \(archive == "-" ? "archive on standard output" : archive): \(summary.files) files, "
            + "\(summary.directories) directories, \(summary.symlinks) symlinks, \(summary.hardLinks) hard links; "
            + (summary.excluded > 0 ? "\(summary.excluded) excluded; " : "")
            + (summary.mountPoints > 0 ? "\(summary.mountPoints) mount points not descended into; " : "")
            + "\(summary.inputBytes) bytes in, \(summary.archiveBytes) bytes out, \(summary.frames) chunks, "
            + Text.printf("%.2f s", seconds))
        // What the archive does not hold is counted, and the status says so (as extract's 7).
        if summary.skipped > 0 { Console.warn("\(summary.skipped) inputs not archived (named above)") }
        if summary.changedWhileRead > 0 { Console.warn("\(summary.changedWhileRead) files changed while they were read (named above); archived as read") }
        if summary.attributesNotRecorded > 0 {
            Console.warn("\(summary.attributesNotRecorded) entries' extended attributes (ACLs, capabilities, labels) not recorded: format 1 has none")
        }
        if summary.hasLosses { throw CommandExit(.restoredWithLosses) }
    }
}
