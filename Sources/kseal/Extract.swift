import ArgumentParser
import KsealArchive

struct Extract: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        abstract: "Extract an archive, verifying every chunk before its bytes reach a file.",
        discussion: "Reads the archive once, front to back, so '-' extracts from a pipe. Files appear under their names only "
            + "when complete and verified; damaged files are named and left out. Nothing is written outside DIR."
    )

    @OptionGroup var input: ArchiveInput

    @Argument(help: ArgumentHelp("Extract only these paths (and what lies beneath them).", valueName: "path"))
    var paths: [String] = []

    @Option(name: .customShort("C"), help: ArgumentHelp("Extract into this existing directory.", valueName: "dir"))
    var directory: String = "."

    @Option(name: .customLong("strip-components"),
            help: ArgumentHelp("Remove this many leading components from each name before writing it; shorter names are left out.", valueName: "n"))
    var stripComponents = 0

    @Flag(name: .customLong("keep-directory-symlink"),
          help: "Follow symbolic links already in DIR that lead to directories inside it (merged /usr), instead of refusing to write through them.")
    var keepDirectorySymlink = false

    @Flag(name: .customLong("no-same-owner"), help: "Do not restore owners (nor set-id bits), even as root.")
    var noSameOwner = false

    @Flag(name: .customLong("numeric-owner"), help: "Restore owners by number, ignoring the names a format 2 archive records.")
    var numericOwner = false

    @Flag(name: .customLong("no-xattrs"), help: "Do not restore extended attributes (format 2), other than ACLs and SELinux labels.")
    var noXattrs = false

    @Flag(name: .customLong("no-acls"), help: "Do not restore POSIX ACLs (format 2).")
    var noACLs = false

    @Flag(name: .customLong("no-selinux"), help: "Do not restore SELinux labels (format 2).")
    var noSELinux = false

    @Flag(name: .long, help: "Write the selected files' contents to standard output instead.")
    var stdout = false

    @Flag(name: .long, help: "Print a summary as one JSON object on standard output (not with --stdout).")
    var json = false

    @Flag(name: .long, help: "Verify the whole archive first and write nothing at all if anything is damaged (reads a file archive twice; not for '-').")
    var verifyFirst = false

    @OptionGroup var progressOptions: ProgressOptions

    func validate() throws {
        if verifyFirst && input.path == "-" { throw ValidationError("--verify-first needs an archive file, not '-'") }
        if stripComponents < 0 { throw ValidationError("--strip-components must be 0 or more") }
        if json && stdout { throw ValidationError("--json and --stdout both write to standard output; choose one") }
    }

    func run() throws {
        if verifyFirst {
            let report = try Verifier.verify(input.open())
            guard report.isIntact else {
                for damage in report.damagedFiles { Console.error(String(decoding: damage.path, as: UTF8.self) + ": " + damage.reason) }
                for problem in report.archiveProblems { Console.error("archive: \(problem)") }
                Console.error("the archive is damaged; --verify-first: nothing was extracted")
                throw ExitCode(ExitStatus.damaged.rawValue)
            }
        }
        let reader = try input.open(quietly: verifyFirst)
        TemporaryFiles.installSignalHandlers()
        var options = ExtractOptions()
        options.selection = (paths + BulkPaths.taken).map(\.pathBytes)
        options.stripComponents = stripComponents
        options.keepDirectorySymlinks = keepDirectorySymlink
        if noSameOwner { options.restoreOwnership = false }
        options.numericOwner = numericOwner
        options.restoreXattrs = !noXattrs
        options.restoreACLs = !noACLs
        options.restoreSELinux = !noSELinux
        options.progress = progressOptions.meter(command: "extract", quiet: input.crypto.quiet)
        let report = try Extractor.extract(reader, to: stdout ? .standardOutput : .directory(directory), options: options)
        options.progress?.finish()
        for damage in report.failed + report.refused + report.ioFailures {
            Console.error(String(decoding: damage.path, as: UTF8.self) + ": " + damage.reason)
        }
        for problem in report.archiveProblems { Console.error("archive: \(problem)") }
        input.crypto.note("extracted \(report.restored) entries" + (report.isComplete ? "" : "; some entries were NOT restored"))
        for (kind, count) in report.losses.sorted(by: { $0.key < $1.key }) { Console.error("not restored: \(count) \(kind)") }
        let status: ExitStatus = !report.refused.isEmpty ? .refused : !report.failed.isEmpty || !report.archiveProblems.isEmpty ? .damaged
            : !report.ioFailures.isEmpty ? .ioError : !report.losses.isEmpty ? .restoredWithLosses : .success
        if json {
            Console.print(JSON.encode(.object([
                ("ok", .bool(status == .success)), ("status", .int(Int64(status.rawValue))), ("class", .string(status.className)),
                ("backend", .string(reader.backend.kind.rawValue)), ("signature", JSON.signature(reader)),
                ("restored", .int(Int64(report.restored))), ("bytes", .int(reader.index.uniqueBytes)), ("damaged", JSON.damage(report.failed)), ("refused", JSON.damage(report.refused)),
                ("io_failures", JSON.damage(report.ioFailures)), ("archive_problems", .array(report.archiveProblems.map { .string($0) })),
                ("losses", .object(report.losses.sorted(by: { $0.key < $1.key }).map { ($0.key, .int(Int64($0.value))) })),
            ])))
        }
        if status != .success { throw ExitCode(status.rawValue) }
    }
}
