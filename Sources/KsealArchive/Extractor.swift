import CSystemShim
#if canImport(Glibc)
import Glibc
#endif

/// Settings for ``Extractor``.
public struct ExtractOptions: Sendable {
    /// Paths to extract (each with everything beneath it); empty means all.
    public var selection: [[UInt8]] = []
    /// Leading path components removed from every entry (and from hard links' targets) before it
    /// is written, as tar's `--strip-components`; entries with no more components than this are
    /// left out. Selection matches the names as stored, before stripping.
    public var stripComponents = 0
    /// Follow symlinks already in the target that lead to directories inside it, instead of
    /// refusing to write through them (`--keep-directory-symlink`; merged /usr).
    public var keepDirectorySymlinks = false
    /// Leave out kinds of extended attributes (`--no-xattrs`, `--no-acls`, `--no-selinux`); what
    /// is left out is not counted as lost.
    public var restoreXattrs = true, restoreACLs = true, restoreSELinux = true
    /// Restore owners by their numbers only, ignoring recorded names (`--numeric-owner`).
    public var numericOwner = false
    /// Restore owners (and set-id bits); by default only when running as root.
    public var restoreOwnership = geteuid() == 0
    /// Told the bytes of every chunk passed, against the total of the archive's chunks.
    public var progress: ProgressMeter?
    public init() {}
}

/// Where extracted content goes.
public enum ExtractDestination: Sendable {
    /// A directory that must exist; nothing is written outside it.
    case directory(String)
    /// File contents, concatenated, each chunk verified before it is written.
    case standardOutput
}

/// The outcome of an extraction.
public struct ExtractReport: Sendable {
    public var restored = 0
    public var failed: [VerifyReport.Damage] = []
    /// Entries refused because writing them would leave the target directory.
    public var refused: [VerifyReport.Damage] = []
    public var ioFailures: [VerifyReport.Damage] = []
    public var archiveProblems: [String] = []
    /// What could not be restored, by kind ("security.* extended attributes", "device nodes"),
    /// with how many (format v2): the entries themselves were restored.
    public var losses: [String: Int] = [:]
    public var isComplete: Bool { failed.isEmpty && refused.isEmpty && ioFailures.isEmpty && archiveProblems.isEmpty }
}

/// Restores entries in archive order, reading the archive once, front to back (spec §8).
///
/// A file is written under a temporary name and renamed into place only after every one of its
/// chunks was authenticated and hash-checked; a damaged file is never presented under its name.
/// A chunk used again (deduplicated) is copied back from where it was first written and its hash
/// checked again.
public final class Extractor {
    private enum Location {
        /// In an extracted file: parent path, name, offset.
        case file(parent: [UInt8], name: [UInt8], offset: Int64)
        /// In a file being written, or one left unpublished because it is damaged.
        case pending(PendingFile, offset: Int64)
        /// In the private spool, for chunks first used by an entry that is not being extracted.
        case spool(offset: Int64)
    }

    private let reader: ArchiveReader
    private let options: ExtractOptions
    /// Created once the plan says which frames to open.
    private var frames: FrameReader!
    private var report = ExtractReport()
    private var locations: [Int: Location] = [:]
    private var failedFrames: [Int: String] = [:]
    /// Where the files that hard links name were written (only those: see ``linkTargets``).
    private var restoredFiles: [[UInt8]: (parent: [UInt8], name: [UInt8])] = [:]
    /// The paths hard links name, as stored.
    private var linkTargets = Set<[UInt8]>()
    /// The entries selected by id, or nil for all (before --strip-components).
    private var selected: Set<Int64>?
    private var spool: SystemFile?
    private var spoolLength: Int64 = 0
    private var copyBuffer: UnsafeMutableRawBufferPointer
    /// Chunks a selected entry uses again after the entry that first brings them: only these are
    /// kept aside (in the spool) when their first copy is not written to a file, and only their
    /// locations are remembered. So what extraction holds grows with the archive's deduplicated
    /// chunks, hard links and directories, never with its plain files.
    private var neededLater = Set<Int>()
    /// Target-side ids for the names an archive records (format v2).
    private var owners = OwnerIDs()
    private let metadata: EntryMetadata

    /// - Throws: ``ArchiveError`` only for failures that stop the whole extraction (I/O on the
    ///   target directory itself, a crypto backend failure); per-entry problems are in the report.
    public static func extract(_ reader: ArchiveReader, to destination: ExtractDestination, options: ExtractOptions = ExtractOptions()) throws -> ExtractReport {
        let extractor = try Extractor(reader: reader, options: options)
        switch destination {
        case .directory(let path):
            try extractor.extract(into: TargetDirectory(path: path, followDirectorySymlinks: options.keepDirectorySymlinks))
        case .standardOutput: try extractor.extractToStandardOutput()
        }
        return extractor.report
    }

    private init(reader: ArchiveReader, options: ExtractOptions) throws {
        self.reader = reader
        self.options = options
        metadata = EntryMetadata(options)
        copyBuffer = .allocate(byteCount: Int(reader.header.chunkSize), alignment: 64)
    }

    deinit { copyBuffer.deallocate() }

    /// Entry ids selected by `options.selection` (nil: all); with `withLinkTargets`, also the
    /// files that selected hard links share (a link can only be made to a file that was written).
    private func selectedEntries(withLinkTargets: Bool = true) throws -> Set<Int64>? {
        guard !options.selection.isEmpty else { return nil }
        let selections = try options.selection.map { try ArchiveWriter.storedName(for: $0) }
        // "." (or "/") names the whole archive.
        if selections.contains(where: \.isEmpty) { return nil }
        // Each entry is looked up with the directories above it: linear in the entries and the
        // selections (8,000 selected paths took 94 s when every entry was compared with each).
        let wanted = Set(selections)
        var matched = Set<[UInt8]>()
        var selected = Set<Int64>()
        let entries = try reader.index.entries()
        while let entry = try entries.next() {
            var hits = wanted.contains(entry.path) ? [entry.path] : []
            for (offset, byte) in entry.path.enumerated() where byte == UInt8(ascii: "/") {
                let directory = Array(entry.path[..<offset])
                if wanted.contains(directory) { hits.append(directory) }
            }
            guard !hits.isEmpty else { continue }
            matched.formUnion(hits)
            selected.insert(entry.id)
            if withLinkTargets, entry.kind == .hardLink, let target = entry.target, let file = try reader.index.lookUp(path: target) {
                selected.insert(file.id)
            }
        }
        if let missing = selections.first(where: { !matched.contains($0) }) {
            throw ArchiveError(.usage, "\(display(missing)): not found in the archive")
        }
        return selected
    }

    /// Whether `entry` is written: selected, and not stripped away entirely.
    private func isSelected(_ entry: Entry) -> Bool {
        (selected?.contains(entry.id) ?? true) && (options.stripComponents == 0 || stripped(entry.path) != nil)
    }

    /// Marks the chunks that a selected entry uses after their first use (see ``neededLater``):
    /// frames come in order of first use, so a use is the first exactly when its ordinal is the
    /// next frame's.
    /// - Parameter linksReadContent: hard links read their file's chunks (output to stdout) rather
    ///   than being linked to the written file.
    /// - Returns: the frames to open: those a selected entry brings first, and those used again;
    ///   nil (all) without a selection.
    private func planReuse(linksReadContent: Bool = false) throws -> Set<Int>? {
        var opening: Set<Int>? = selected == nil && options.stripComponents == 0 ? nil : Set<Int>()
        var nextFrame = 0
        let entries = try reader.index.entries()
        while let entry = try entries.next() {
            let wanted = isSelected(entry)
            for ordinal in try linksReadContent ? content(of: entry) : Array(entry.chunks) {
                if ordinal == nextFrame {
                    nextFrame += 1
                    if wanted { opening?.insert(ordinal) }
                } else if wanted {
                    neededLater.insert(ordinal)
                }
            }
        }
        return opening.map { $0.union(neededLater) }
    }

    /// The chunks `entry`'s content is read from: a hard link's are its file's.
    private func content(of entry: Entry) throws -> [Int] {
        guard entry.kind == .hardLink, let target = entry.target, let file = try reader.index.lookUp(path: target) else { return Array(entry.chunks) }
        return try reader.index.chunkOrdinals(ofEntry: file.id)
    }

    /// Starts reading the frames, opening only `opening` (nil: all).
    private func openFrames(_ opening: Set<Int>?) throws {
        frames = try reader.frames(opening: opening)
        frames.progress = options.progress
        options.progress?.total = reader.index.uniqueBytes
    }

    private func extract(into target: TargetDirectory) throws {
        selected = try selectedEntries()
        linkTargets = try reader.index.hardLinkTargets()
        try openFrames(try planReuse())
        // Directories' ids: their entries are read again when their metadata is set, at the end.
        var directories: [Int64] = []
        let entries = try reader.index.entries()
        while let archived = try entries.next() {
            // Each entry as it is written (stripped); one stripped away counts as not selected.
            guard isSelected(archived), let entry = placed(archived) else {
                if archived.kind == .file { try pass(over: archived, target: target) }
                continue
            }
            do {
                switch entry.kind {
                case .file: try writeFile(entry, target: target, remember: linkTargets.contains(archived.path))
                case .directory:
                    try makeDirectory(entry, target: target)
                    directories.append(archived.id)
                case .symlink: try makeSymlink(entry, target: target)
                case .hardLink: try makeHardLink(entry, target: target)
                case .characterDevice, .blockDevice, .fifo: try makeSpecial(entry, target: target)
                }
            } catch let error as ArchiveError {
                record(error, for: entry.path)
                // Whatever stopped this entry, the frames it brings must still be read past.
                if entry.kind == .file { try pass(over: entry, target: target) }
            }
        }
        do { try frames.finish() } catch let error as ArchiveError where error.code == .damaged {
            report.archiveProblems.append(error.message)
        }
        // Directory metadata last, deepest first, so their contents could be written.
        for id in directories.reversed() {
            try entries.seek(to: id)
            guard let archived = try entries.next(), archived.id == id, let entry = placed(archived) else {
                throw ArchiveError(.internal, "index: directory entry \(id) not found again")
            }
            do {
                try applyMetadata(entry, to: try target.openEntryDirectory(entry.path, create: false))
            } catch let error as ArchiveError { record(error, for: entry.path) }
        }
    }

    /// `path` without its first ``ExtractOptions/stripComponents`` components; nil when nothing
    /// is left.
    private func stripped(_ path: [UInt8]) -> [UInt8]? {
        guard options.stripComponents > 0 else { return path }
        let parts = path.split(separator: UInt8(ascii: "/"))
        guard parts.count > options.stripComponents else { return nil }
        return Array(parts.dropFirst(options.stripComponents).joined(separator: [UInt8(ascii: "/")]))
    }

    /// The entry as it is written: its path stripped, and a hard link's target with it (a target
    /// stripped away is kept as stored, so the link reports that it was not restored).
    private func placed(_ entry: Entry) -> Entry? {
        guard options.stripComponents > 0 else { return entry }
        guard let path = stripped(entry.path) else { return nil }
        let target = entry.kind == .hardLink ? entry.target.map { stripped($0) ?? $0 } : entry.target
        // Everything else as archived: owners' names, device numbers, attributes, zero runs.
        return entry.moved(to: path, target: target)
    }

    private func record(_ error: ArchiveError, for path: [UInt8]) {
        let damage = VerifyReport.Damage(path: path, reason: error.message)
        switch error.code {
        case .damaged: report.failed.append(damage)
        case .unsafe: report.refused.append(damage)
        default: report.ioFailures.append(damage)
        }
    }

    /// Consumes the new frames of an entry that is not extracted, keeping those needed later.
    private func pass(over entry: Entry, target: TargetDirectory) throws {
        for ordinal in entry.chunks where ordinal == frames.nextOrdinal {
            let keep = neededLater.contains(ordinal)
            do {
                let count = try frames.next()
                if keep { try toSpool(count: count, ordinal: ordinal, in: target.rootPath) }
            } catch let error as ArchiveError where error.code == .damaged {
                failedFrames[ordinal] = error.message
            }
        }
    }

    /// Keeps the current frame's plaintext in the private spool, an unnamed file in `directory`.
    private func toSpool(count: Int, ordinal: Int, in directory: String) throws {
        if spool == nil { spool = try unlinkedTemporaryFile(in: directory) }
        try spool!.writeAll(UnsafeRawBufferPointer(rebasing: frames.plain[0..<count]))
        locations[ordinal] = .spool(offset: spoolLength)
        spoolLength += Int64(count)
    }

    /// Fills `copyBuffer` with the verified plaintext of an earlier chunk.
    /// - Parameter target: where extracted files are (nil for `--stdout`, which only spools).
    private func readBack(_ ordinal: Int, target: TargetDirectory?) throws -> Int {
        if let failure = failedFrames[ordinal] { throw ArchiveError(.damaged, failure) }
        let count = try reader.index.chunk(ordinal).plainLength
        let buffer = UnsafeMutableRawBufferPointer(rebasing: copyBuffer[0..<count])
        let got: Int
        switch locations[ordinal] {
        case .file(let parentPath, let name, let offset):
            guard let target else { throw ArchiveError(.internal, "frame \(ordinal): no target directory to copy from") }
            let parent = try target.directory(at: parentPath)
            let file = try SystemFile.open(at: parent, name: name, flags: O_RDONLY | O_NOFOLLOW | O_CLOEXEC, shownAs: display(name))
            got = try file.pread(into: buffer, at: offset)
        case .pending(let pending, let offset):
            got = try pending.file.pread(into: buffer, at: offset)
        case .spool(let offset):
            got = try spool!.pread(into: buffer, at: offset)
        case nil:
            throw ArchiveError(.damaged, "frame \(ordinal) is not available")
        }
        guard got == count else { throw ArchiveError(.damaged, "frame \(ordinal): copy source changed during extraction") }
        try frames.checkHash(UnsafeRawBufferPointer(buffer), ordinal: ordinal)
        return count
    }

    /// - Parameter remember: a hard link names this file: keep where it was written.
    private func writeFile(_ entry: Entry, target: TargetDirectory, remember: Bool) throws {
        let (parent, name, parentPath) = try target.parent(of: entry.path)
        let pending = try PendingFile(in: parent, directoryPath: target.absolutePath(of: parentPath), mode: 0o600)
        var failure: ArchiveError?
        var offset: Int64 = 0
        var written: [Int] = []
        do {
            for extent in entry.extents ?? entry.chunks.map(Extent.chunk) {
                guard case .chunk(let ordinal) = extent else {
                    // A zero run: a hole, nothing written (format v2).
                    if case .zeros(let count) = extent, failure == nil {
                        try pending.file.skip(count)
                        offset += count
                    }
                    continue
                }
                let isNew = ordinal == frames.nextOrdinal
                do {
                    if isNew {
                        let count = try frames.next()
                        guard failure == nil else {
                            if neededLater.contains(ordinal) { try toSpool(count: count, ordinal: ordinal, in: target.rootPath) }
                            continue
                        }
                        try pending.file.writeAll(UnsafeRawBufferPointer(rebasing: frames.plain[0..<count]))
                        if neededLater.contains(ordinal) {
                            locations[ordinal] = .pending(pending, offset: offset)
                            written.append(ordinal)
                        }
                        offset += Int64(count)
                    } else if failure == nil {
                        let count = try readBack(ordinal, target: target)
                        try pending.file.writeAll(UnsafeRawBufferPointer(rebasing: copyBuffer[0..<count]))
                        offset += Int64(count)
                    }
                } catch let error as ArchiveError where error.code == .damaged {
                    if isNew { failedFrames[ordinal] = error.message }
                    if failure == nil { failure = error }
                }
            }
            if failure == nil {
                // Trailing zeros are a hole too: the length is set, not written.
                if entry.extents != nil { try pending.file.setLength(entry.size) }
                try applyMetadata(entry, to: pending.file)
                try pending.publish(as: name, shownAs: display(entry.path))
            }
        } catch {
            // Not damage but a failure to write (disk full, permissions): nothing of it stays.
            for ordinal in written { locations[ordinal] = nil }
            throw error
        }
        if let failure {
            // Never published; its verified chunks stay readable for later copies until the end.
            throw ArchiveError(.damaged, "not restored: \(failure.message)")
        }
        for ordinal in written {
            if case .pending(_, let at) = locations[ordinal] { locations[ordinal] = .file(parent: parentPath, name: name, offset: at) }
        }
        if remember { restoredFiles[entry.path] = (parentPath, name) }
        report.restored += 1
    }

    private func makeDirectory(_ entry: Entry, target: TargetDirectory) throws {
        _ = try target.openEntryDirectory(entry.path, create: true, mode: 0o700)
        report.restored += 1
    }

    private func makeSymlink(_ entry: Entry, target: TargetDirectory) throws {
        let (parent, name, _) = try target.parent(of: entry.path)
        let temporary = PartFiles.name()
        try parent.makeSymlink(temporary, to: entry.target!).orThrow("symlink", display(entry.path))
        try publish(temporary, as: name, in: parent, path: entry.path) {
            if options.restoreOwnership {
                let owner = owners.resolve(entry, numeric: options.numericOwner)
                try parent.setOwner(of: temporary, uid: owner.uid, gid: owner.gid).orThrow("lchown", display(entry.path))
            }
            for attribute in entry.extendedAttributes where metadata.isWanted(attribute) {
                // Linux allows only trusted.* and security.* on a symlink itself.
                if case .failure = parent.setLinkAttribute(of: temporary, attribute.name, attribute.value) {
                    report.losses[EntryMetadata.lossKind(of: attribute.name), default: 0] += 1
                }
            }
            try parent.setModificationTime(of: temporary, seconds: entry.mtimeSeconds, nanoseconds: entry.mtimeNanoseconds)
                .orThrow("utimensat", display(entry.path))
        }
        report.restored += 1
    }

    private func makeHardLink(_ entry: Entry, target: TargetDirectory) throws {
        guard let linked = entry.target, let source = restoredFiles[linked] else {
            if let linked = entry.target, options.stripComponents > 0, stripped(linked) == nil {
                // Not damage: the caller's --strip-components left the file out.
                throw ArchiveError(.io, "\(display(entry.path)): hard link to \(display(linked)), which --strip-components leaves out; not restored")
            }
            throw ArchiveError(.damaged, "\(display(entry.path)): hard link to \(display(entry.target ?? [])), which was not restored")
        }
        let (sourceParent, _, _) = try target.parent(of: linked)
        let (parent, name, _) = try target.parent(of: entry.path)
        let temporary = PartFiles.name()
        try sourceParent.link(source.name, to: parent, as: temporary).orThrow("link", display(entry.path))
        try publish(temporary, as: name, in: parent, path: entry.path)
        report.restored += 1
    }

    /// Gives a node just made under the part name `temporary` its metadata (`prepare`), then its
    /// name. On failure the part is removed, best effort: one left behind is swept by the next
    /// writer in that directory (PartFiles).
    private func publish(_ temporary: [UInt8], as name: [UInt8], in parent: SystemFile, path: [UInt8],
                         prepare: () throws -> Void = {}) throws {
        do {
            try prepare()
            try parent.rename(temporary, to: name).orThrow("rename", display(path))
        } catch {
            _ = parent.remove(temporary)
            throw error
        }
    }

    /// A device node or FIFO (format v2), made under a part name and renamed into place. A node
    /// the user may not make (devices need CAP_MKNOD) is counted as a loss, not an error.
    private func makeSpecial(_ entry: Entry, target: TargetDirectory) throws {
        let (parent, name, _) = try target.parent(of: entry.path)
        let temporary = PartFiles.name()
        let type: mode_t = switch entry.kind {
        case .characterDevice: S_IFCHR
        case .blockDevice: S_IFBLK
        default: S_IFIFO
        }
        let device = entry.device.map { kseal_makedev($0.major, $0.minor) } ?? 0
        switch parent.makeNode(temporary, type: type, mode: 0o600, device: device) {
        case .success: break
        case .failure(let errno) where errno == .permissionDenied && type != S_IFIFO:
            report.losses["device nodes (need root)", default: 0] += 1
            return
        case .failure(let errno): throw ArchiveError.system("mknod", display(entry.path), errno)
        }
        try publish(temporary, as: name, in: parent, path: entry.path) {
            if options.restoreOwnership {
                let owner = owners.resolve(entry, numeric: options.numericOwner)
                try parent.setOwner(of: temporary, uid: owner.uid, gid: owner.gid).orThrow("lchown", display(entry.path))
            }
            try parent.setMode(of: temporary, entry.mode & (options.restoreOwnership ? 0o7777 : 0o1777)).orThrow("chmod", display(entry.path))
            try parent.setModificationTime(of: temporary, seconds: entry.mtimeSeconds, nanoseconds: entry.mtimeNanoseconds)
                .orThrow("utimensat", display(entry.path))
        }
        report.restored += 1
    }

    private func applyMetadata(_ entry: Entry, to file: SystemFile) throws {
        let owner = options.restoreOwnership ? owners.resolve(entry, numeric: options.numericOwner) : nil
        try metadata.apply(entry, owner: owner, to: file, losses: &report.losses)
    }

    /// Selected files' contents to standard output, each chunk verified before it is written.
    private func extractToStandardOutput() throws {
        selected = try selectedEntries(withLinkTargets: false)
        let output = SystemFile.standardOutput()
        try openFrames(try planReuse(linksReadContent: true))
        let entries = try reader.index.entries()
        while let entry = try entries.next() {
            let wanted = selected?.contains(entry.id) ?? true
            for ordinal in try content(of: entry) {
                if ordinal == frames.nextOrdinal {
                    let count = try frames.next()
                    if wanted { try output.writeAll(UnsafeRawBufferPointer(rebasing: frames.plain[0..<count])) }
                    if neededLater.contains(ordinal) { try toSpool(count: count, ordinal: ordinal, in: ProcessEnvironment.temporaryDirectory) }
                } else if wanted {
                    let count = try readBack(ordinal, target: nil)
                    try output.writeAll(UnsafeRawBufferPointer(rebasing: copyBuffer[0..<count]))
                }
            }
            if wanted, entry.kind == .file || entry.kind == .hardLink { report.restored += 1 }
        }
        try frames.finish()
    }
}
