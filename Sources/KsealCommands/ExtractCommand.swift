import KsealArchive

/// `extract`: what was asked, as both front ends parse it.
public struct ExtractRequest: Sendable {
    public var input: ReaderInput
    public var paths: [String] = []
    public var directory = "."
    public var stripComponents = 0
    public var keepDirectorySymlink = false
    public var noSameOwner = false
    public var numericOwner = false
    public var noXattrs = false
    public var noACLs = false
    public var noSELinux = false
    public var stdout = false
    public var json = false
    public var verifyFirst = false
    public var progress = ProgressMode.auto

    public init(input: ReaderInput) { self.input = input }

    /// - Throws: ``ArchiveError`` `.usage` for options that cannot go together.
    public func validate() throws {
        if verifyFirst && input.archive == "-" { throw ArchiveError(.usage, "--verify-first needs an archive file, not '-'") }
        if stripComponents < 0 { throw ArchiveError(.usage, "--strip-components must be 0 or more") }
        if json && stdout { throw ArchiveError(.usage, "--json and --stdout both write to standard output; choose one") }
    }
}

/// `extract`: every chunk verified before its bytes reach a file; nothing written outside DIR.
public enum ExtractCommand {
    public static func run(_ request: ExtractRequest) throws {
        let input = request.input
        if request.verifyFirst {
            let report = try Verifier.verify(input.open())
            guard report.isIntact else {
                for damage in report.damagedFiles { Console.error(String(decoding: damage.path, as: UTF8.self) + ": " + damage.reason) }
                for problem in report.archiveProblems { Console.error("archive: \(problem)") }
                Console.error("the archive is damaged; --verify-first: nothing was extracted")
                throw CommandExit(.damaged)
            }
        }
        let reader = try input.open(quietly: request.verifyFirst)
        TemporaryFiles.installSignalHandlers()
        var options = ExtractOptions()
        options.selection = request.paths.map { Array($0.utf8) }
        options.stripComponents = request.stripComponents
        options.keepDirectorySymlinks = request.keepDirectorySymlink
        if request.noSameOwner { options.restoreOwnership = false }
        options.numericOwner = request.numericOwner
        options.restoreXattrs = !request.noXattrs
        options.restoreACLs = !request.noACLs
        options.restoreSELinux = !request.noSELinux
        options.progress = request.progress.meter(command: "extract", quiet: input.crypto.quiet)
        let report = try Extractor.extract(reader, to: request.stdout ? .standardOutput : .directory(request.directory), options: options)
        options.progress?.finish()
        for damage in report.failed + report.refused + report.ioFailures {
            Console.error(String(decoding: damage.path, as: UTF8.self) + ": " + damage.reason)
        }
        for problem in report.archiveProblems { Console.error("archive: \(problem)") }
        input.crypto.note("extracted \(report.restored) entries" + (report.isComplete ? "" : "; some entries were NOT restored"))
        for (kind, count) in report.losses.sorted(by: { $0.key < $1.key }) { Console.error("not restored: \(count) \(kind)") }
        let status: ExitStatus = !report.refused.isEmpty ? .refused : !report.failed.isEmpty || !report.archiveProblems.isEmpty ? .damaged
            : !report.ioFailures.isEmpty ? .ioError : !report.losses.isEmpty ? .restoredWithLosses : .success
        if request.json {
            Console.print(JSON.encode(.object([
                ("ok", .bool(status == .success)), ("status", .int(Int64(status.rawValue))), ("class", .string(status.className)),
                ("backend", .string(reader.backend.kind.rawValue)), ("signature", JSON.signature(reader)),
                ("restored", .int(Int64(report.restored))), ("bytes", .int(reader.index.uniqueBytes)), ("damaged", JSON.damage(report.failed)), ("refused", JSON.damage(report.refused)),
                ("io_failures", JSON.damage(report.ioFailures)), ("archive_problems", .array(report.archiveProblems.map { .string($0) })),
                ("losses", .object(report.losses.sorted(by: { $0.key < $1.key }).map { ($0.key, .int(Int64($0.value))) })),
            ])))
        }
        if status != .success { throw CommandExit(status) }
    }
}
