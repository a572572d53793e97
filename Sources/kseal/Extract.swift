import ArgumentParser
import KsealArchive
import KsealCommands

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

    var request: ExtractRequest {
        var request = ExtractRequest(input: input.reader)
        request.paths = paths + BulkPaths.taken
        request.directory = directory
        request.stripComponents = stripComponents
        request.keepDirectorySymlink = keepDirectorySymlink
        request.noSameOwner = noSameOwner
        request.numericOwner = numericOwner
        request.noXattrs = noXattrs
        request.noACLs = noACLs
        request.noSELinux = noSELinux
        request.stdout = stdout
        request.json = json
        request.verifyFirst = verifyFirst
        request.progress = progressOptions.progress
        return request
    }

    func validate() throws {
        do { try request.validate() } catch let error as ArchiveError { throw ValidationError(error.message) }
    }

    func run() throws {
        try ExtractCommand.run(request)
    }
}
