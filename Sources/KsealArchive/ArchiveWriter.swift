import CSystemShim
#if canImport(Glibc)
import Glibc
#endif
import KsealCrypto

/// An owner or group that create records for every entry (`--owner`, `--group`): the number,
/// and the name to record beside it in format 2 (nil: the name this machine has for the number).
public struct OwnerOverride: Sendable, Equatable {
    public var id: UInt32
    public var name: [UInt8]?

    public init(id: UInt32, name: [UInt8]? = nil) {
        self.id = id
        self.name = name
    }
}

/// Settings for ``ArchiveWriter``.
public struct CreateOptions: Sendable {
    /// zstd level for chunks and the index.
    public var compressionLevel: Int32 = 3
    public var chunkSize = FormatV1.defaultChunkSize
    /// Fixed secrets, for test vectors only; nil draws fresh ones from the system (always, in the CLI).
    public var secrets: ArchiveSecrets?
    /// Record this owner and group instead of each file's (`--owner`, `--group`; vectors use them
    /// to reproduce on any machine).
    public var ownerOverride: OwnerOverride?
    public var groupOverride: OwnerOverride?
    /// Record numbers only, no owner or group names (`--numeric-owner`; format 2).
    public var numericOwner = false
    /// Sign the archive with this key (`--sign`; format 2, spec §4.4).
    public var signingKey: SigningKey?
    /// scrypt's cost for passphrase slots (format 2, spec §4.5).
    public var scryptCost = ScryptCost.standard
    /// Record this modification time (seconds, nanoseconds) instead of each file's (`--mtime`);
    /// with ``clampMtime``, only for files newer than it (`--clamp-mtime`, reproducible builds).
    public var mtimeOverride: (seconds: Int64, nanoseconds: Int64)?
    public var clampMtime = false
    /// Threads for hashing, compressing and sealing; nil for one per core (at most 8). The
    /// archive is the same whatever the number.
    public var workers: Int?
    /// Told the bytes read as files are archived.
    public var progress: ProgressMeter?
    /// Replace an existing destination file that is not a kseal archive (`--force`).
    public var replaceForeignFile = false
    /// The format to write: v2 (the default) records xattrs, devices, FIFOs, owner names and
    /// zero runs; v1 skips devices and FIFOs and counts the entries whose xattrs it drops.
    public var formatVersion = FormatVersion.written
    /// Paths left out, with everything under them (`--exclude`, `--exclude-from`).
    public var exclude = try! PathPatterns([])
    /// Stay on the file system of each input: a directory on another one (a mount point) is
    /// stored, its contents are not (`--one-file-system`).
    public var oneFileSystem = false
    /// The size of create's filter of stored chunks (``StoredChunkFilter``); tests shrink it so
    /// that it says "may be stored" of new chunks.
    var storedChunkFilterBits = StoredChunkFilter.defaultBitCount
    public init() {}
}

/// Where the archive goes.
public enum ArchiveDestination: Sendable {
    case file(String)
    case standardOutput
}

/// What a create did.
public struct CreateSummary: Sendable {
    public var files = 0, directories = 0, symlinks = 0, hardLinks = 0
    /// Inputs not archived: sockets, and in format 1 devices and FIFOs (each also warned about).
    public var skipped = 0
    /// Entries whose extended attributes (ACLs, capabilities, labels) were not recorded because
    /// format 1 has no place for them.
    public var attributesNotRecorded = 0
    /// Files that changed size while they were read: archived as read, which may be no state
    /// the file was ever in (tar exits 1 for this; kseal counts it with the losses).
    public var changedWhileRead = 0
    /// Whether anything the inputs held is not in the archive as it was: the CLI's status 7.
    public var hasLosses: Bool { skipped > 0 || attributesNotRecorded > 0 || changedWhileRead > 0 }
    /// Devices and FIFOs (format v2).
    public var specialFiles = 0
    /// Paths left out by ``CreateOptions/exclude``, and mount points not descended into.
    public var excluded = 0, mountPoints = 0
    public var inputBytes: Int64 = 0
    public var frames = 0
    public var storedBytes: Int64 = 0
    public var archiveBytes: Int64 = 0
}

/// Writes a format v1 archive (spec §8, "Writing").
///
/// Files are walked in a fixed order and their chunks go through a ``ChunkPipeline`` (all cores)
/// into an unnamed scratch file of frames; then the header, key slot, header MAC and sealed index
/// are written, the frames are copied after them (`copy_file_range`) and the end marker closes
/// the archive. A file destination is written as an unnamed file and linked into place only when
/// complete (``AtomicOutput``).
public final class ArchiveWriter {
    private let backend: any CryptoBackend
    private let options: CreateOptions
    private let warn: (String) -> Void
    private let secrets: ArchiveSecrets
    private let subkeys: Subkeys
    private let index: IndexBuilder
    private let frames: SystemFile
    private let pipeline: ChunkPipeline
    private var added: AddedPaths
    /// The first path and size of each file with more links, for the hard links that follow.
    private var hardLinkSources: [FileIdentity: (path: [UInt8], size: Int64)] = [:]
    /// The archive being written and the one it replaces: never archived into themselves.
    private var exclude = Set<FileIdentity>()
    private var names = OwnerNames()
    /// The device of the input being walked, for ``CreateOptions/oneFileSystem``.
    private var inputDevice: UInt64 = 0
    private let keyFiles: [KeyFile]
    private let passphrases: [Passphrase]
    private var summary = CreateSummary()

    /// Creates an archive of `paths` with one key slot, for `keyFile`.
    public static func create(paths: [[UInt8]], destination: ArchiveDestination, keyFile: KeyFile, backend: any CryptoBackend,
                              options: CreateOptions = CreateOptions(), warn: @escaping (String) -> Void) throws -> CreateSummary {
        try create(paths: paths, destination: destination, keyFiles: [keyFile], backend: backend, options: options, warn: warn)
    }

    /// Creates an archive of `paths`.
    /// - Parameters:
    ///   - paths: inputs as given on the command line; stored relative (see ``storedName(for:)``).
    ///   - destination: a file (written atomically) or standard output.
    ///   - keyFiles: the keys the data key is wrapped for, one key slot each, in this order; any
    ///     of them opens the archive.
    ///   - passphrases: passphrases likewise, one slot each after the keys' (format 2); 1 to 64
    ///     slots in all.
    ///   - backend: the crypto backend, chosen once by the caller.
    ///   - warn: told about skipped files and similar.
    /// - Throws: ``ArchiveError``; nothing is left at the destination path on failure.
    public static func create(paths: [[UInt8]], destination: ArchiveDestination, keyFiles: [KeyFile], passphrases: [Passphrase] = [],
                              backend: any CryptoBackend, options: CreateOptions = CreateOptions(), warn: @escaping (String) -> Void) throws -> CreateSummary {
        guard (1...FormatV1.maxSlots).contains(keyFiles.count + passphrases.count) else {
            throw ArchiveError(.usage, "an archive has 1 to \(FormatV1.maxSlots) key slots; \(keyFiles.count + passphrases.count) keys and passphrases were given")
        }
        if options.formatVersion == .v1, !passphrases.isEmpty {
            throw ArchiveError(.usage, "format 1 archives have no passphrase slots; passphrases are format 2")
        }
        if options.formatVersion == .v1, options.signingKey != nil {
            throw ArchiveError(.usage, "format 1 archives cannot be signed; signatures are format 2")
        }
        if options.formatVersion == .v1, let inKernel = keyFiles.first(where: \.isInKernel) {
            throw ArchiveError(.usage, "\(inKernel.name): format 1 key slots need the key's bytes; a kernel-held key makes format 2 archives only")
        }
        let workDirectory: String
        switch destination {
        case .file(let path):
            try checkDestination(path, inputs: paths, replaceForeignFile: options.replaceForeignFile)
            workDirectory = directoryName(path)
        case .standardOutput: workDirectory = ProcessEnvironment.temporaryDirectory
        }
        let writer = try ArchiveWriter(backend: backend, keyFiles: keyFiles, passphrases: passphrases, options: options, framesDirectory: workDirectory,
                                       inputs: try paths.map(storedName(for:)), warn: warn)
        switch destination {
        case .file(let path):
            let previous = try? FileStatus.of(Array(path.utf8))
            let output = try AtomicOutput(path: path, replacing: previous)
            writer.exclude.insert(try output.file.status().identity)
            if let previous { writer.exclude.insert(previous.identity) }
            for input in paths { try writer.add(input: input) }
            try writer.assemble(into: output.file)
            try output.commit()
        case .standardOutput:
            for input in paths { try writer.add(input: input) }
            try writer.assemble(into: SystemFile.standardOutput())
        }
        return writer.summary
    }

    /// Refuses a destination whose replacement would lose data: one of the inputs itself, a
    /// device, FIFO or socket (replacing the node is never what was meant), or an existing file
    /// that is not a kseal archive unless `replaceForeignFile`. An empty file holds nothing to
    /// lose, and a symlink is replaced as a link, its target untouched.
    /// - Throws: ``ArchiveError`` `.usage`.
    static func checkDestination(_ path: String, inputs: [[UInt8]], replaceForeignFile: Bool) throws {
        guard let existing = try? FileStatus.of(Array(path.utf8)) else { return }
        for input in inputs where (try? FileStatus.of(input))?.identity == existing.identity {
            throw ArchiveError(.usage, "refusing to write the archive \(path) over one of its inputs, \(display(input))")
        }
        switch existing.kind {
        case .regular where existing.size > 0 && !replaceForeignFile:
            let head = try? SystemFile.open(path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC).readPrefix(FormatV1.magic.count)
            guard head == FormatV1.magic else {
                throw ArchiveError(.usage, "refusing to replace \(path), which is not a kseal archive (--force replaces it)")
            }
        case .other(let kind):
            throw ArchiveError(.usage, "refusing to replace \(path), a \(kind); to write an archive into it, use 'kseal create - … > \(path)'")
        default:
            break
        }
    }

    private init(backend: any CryptoBackend, keyFiles: [KeyFile], passphrases: [Passphrase], options: CreateOptions, framesDirectory: String,
                 inputs: [[UInt8]], warn: @escaping (String) -> Void) throws {
        guard options.chunkSize >= FormatV1.minChunkSize, options.chunkSize <= FormatV1.maxChunkSize,
              options.chunkSize & (options.chunkSize - 1) == 0 else {
            throw ArchiveError(.usage, "chunk size must be a power of two from \(FormatV1.minChunkSize) to \(FormatV1.maxChunkSize)")
        }
        guard (1...19).contains(options.compressionLevel) else { throw ArchiveError(.usage, "compression level must be 1 to 19") }
        self.backend = backend
        self.keyFiles = keyFiles
        self.passphrases = passphrases
        self.options = options
        self.warn = warn
        added = AddedPaths(inputs: inputs)
        secrets = try options.secrets ?? ArchiveSecrets.fresh()
        do {
            subkeys = try Subkeys(backend: backend, dataKey: secrets.dataKey, archiveID: secrets.archiveID, version: options.formatVersion)
        } catch let error as CryptoError { throw ArchiveError.crypto(error, "setting up encryption") }
        index = try IndexBuilder(version: options.formatVersion, directory: framesDirectory)
        frames = try unlinkedTemporaryFile(in: framesDirectory)
        pipeline = try ChunkPipeline(backend: backend, chunkKey: subkeys.chunk, archiveID: secrets.archiveID, level: options.compressionLevel,
                                     chunkSize: options.chunkSize, workers: options.workers ?? FrameReader.defaultWorkers, index: index, frames: frames,
                                     filterBits: options.storedChunkFilterBits)
        pipeline.progress = options.progress
    }

    /// The name an input path is stored under: leading `/`, `.` components and empty components
    /// dropped. `..` is refused: it would make extraction climb out of its target.
    public static func storedName(for input: [UInt8]) throws -> [UInt8] {
        var parts: [ArraySlice<UInt8>] = []
        for part in input.split(separator: UInt8(ascii: "/")) where part != [UInt8(ascii: ".")][...] {
            if part.count == 2 && part.allSatisfy({ $0 == UInt8(ascii: ".") }) {
                throw ArchiveError(.usage, "refusing input path with a '..' component: \(display(input))")
            }
            parts.append(part)
        }
        return Array(parts.joined(separator: [UInt8(ascii: "/")]))
    }

    private func add(input: [UInt8]) throws {
        let stored = try Self.storedName(for: input)
        added.beginInput(stored)
        if options.oneFileSystem { inputDevice = try FileStatus.of(input).device }
        try add(source: input, stored: stored)
    }

    private func add(source: [UInt8], stored: [UInt8]) throws {
        if options.exclude.matches(stored) {
            summary.excluded += 1
            return
        }
        let status = try FileStatus.of(source)
        if exclude.contains(status.identity) {
            warn("\(display(source)): is the archive being written or replaced; not added")
            return
        }
        if !stored.isEmpty {
            guard added.insert(stored) else {
                warn("\(display(source)): already added as \(display(stored)); skipped")
                return
            }
        }
        let owner = (uid: options.ownerOverride?.id ?? status.uid, gid: options.groupOverride?.id ?? status.gid)
        var mtime = (status.mtimeSeconds, status.mtimeNanoseconds)
        if let fixed = options.mtimeOverride, !options.clampMtime || mtime > fixed { mtime = fixed }
        switch status.kind {
        case .directory:
            if !stored.isEmpty {
                _ = pipeline.addEntry(path: stored, kind: .directory, mode: status.mode, uid: owner.uid, gid: owner.gid, mtime: mtime, size: 0, target: nil,
                                      extras: try extras(for: source, status: status, uid: owner.uid, gid: owner.gid, kind: .directory))
                summary.directories += 1
            }
            if options.oneFileSystem && status.device != inputDevice {
                summary.mountPoints += 1
                return
            }
            for name in try directoryEntries(source) {
                let child = source.last == UInt8(ascii: "/") ? source + name : source + [UInt8(ascii: "/")] + name
                try add(source: child, stored: stored.isEmpty ? name : stored + [UInt8(ascii: "/")] + name)
            }
        case .symlink:
            let target = try readLinkTarget(source)
            _ = pipeline.addEntry(path: stored, kind: .symlink, mode: status.mode, uid: owner.uid, gid: owner.gid, mtime: mtime, size: 0, target: target,
                                  extras: try extras(for: source, status: status, uid: owner.uid, gid: owner.gid, kind: .symlink))
            summary.symlinks += 1
        case .regular:
            guard !stored.isEmpty else { throw ArchiveError(.usage, "\(display(source)): a file needs a name in the archive") }
            if status.linkCount > 1, let first = hardLinkSources[status.identity] {
                _ = pipeline.addEntry(path: stored, kind: .hardLink, mode: status.mode, uid: owner.uid, gid: owner.gid, mtime: mtime,
                                      size: first.size, target: first.path,
                                      extras: try extras(for: source, status: status, uid: owner.uid, gid: owner.gid, kind: .hardLink))
                summary.hardLinks += 1
                return
            }
            let id = pipeline.addEntry(path: stored, kind: .file, mode: status.mode, uid: owner.uid, gid: owner.gid, mtime: mtime,
                                        size: status.size, target: nil,
                                        extras: try extras(for: source, status: status, uid: owner.uid, gid: owner.gid, kind: .file))
            let size = try addContent(of: source, entry: id)
            if size != status.size {
                warn("\(display(source)): changed size while being read (\(status.size) → \(size) bytes); archived as read")
                pipeline.updateSize(of: id, to: size)
                summary.changedWhileRead += 1
            }
            if status.linkCount > 1 { hardLinkSources[status.identity] = (stored, size) }
            summary.files += 1
            summary.inputBytes += size
        case .other(let what):
            guard options.formatVersion == .v2, let kind = status.specialKind, !stored.isEmpty else {
                warn("\(display(source)): \(what) not archived")
                summary.skipped += 1
                return
            }
            var extras = try self.extras(for: source, status: status, uid: owner.uid, gid: owner.gid, kind: kind)
            if kind != .fifo { extras.device = DeviceNumber(major: kseal_major(status.rdev), minor: kseal_minor(status.rdev)) }
            _ = pipeline.addEntry(path: stored, kind: kind, mode: status.mode, uid: owner.uid, gid: owner.gid, mtime: mtime, size: 0, target: nil,
                                  extras: extras)
            summary.specialFiles += 1
        }
    }

    /// What format v2 records beyond v1 for an entry: the owner's and group's names here, and
    /// the entry's own extended attributes (none for a hard link, which shares its file's).
    private func extras(for source: [UInt8], status: FileStatus, uid: UInt32, gid: UInt32, kind: EntryKind) throws -> IndexBuilder.Extras {
        guard options.formatVersion == .v2 else {
            if kind != .hardLink, try FileAttributes.hasExtendedAttributes(source) { summary.attributesNotRecorded += 1 }
            return IndexBuilder.Extras()
        }
        var extras = IndexBuilder.Extras()
        if !options.numericOwner {
            extras.userName = options.ownerOverride.map { $0.name ?? names.user($0.id) } ?? names.user(uid)
            extras.groupName = options.groupOverride.map { $0.name ?? names.group($0.id) } ?? names.group(gid)
        }
        if kind != .hardLink { extras.attributes = try FileAttributes.extendedAttributes(of: source) }
        return extras
    }

    /// Reads a file chunk by chunk into the pipeline.
    private func addContent(of source: [UInt8], entry: Int64) throws -> Int64 {
        let file = try SystemFile.open(bytes: source, flags: O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if options.formatVersion == .v2 { return try addSparseContent(of: file, entry: entry) }
        var total: Int64 = 0
        var sequence = 0
        while true {
            let count = try pipeline.readChunk(from: file, entry: entry, sequence: sequence)
            if count == 0 { break }
            sequence += 1
            total += Int64(count)
            if count < options.chunkSize { break }
        }
        return total
    }

    /// Format v2: the file's data regions (`SEEK_DATA`/`SEEK_HOLE`, taken once at its size when
    /// opened) are cut into chunks from each region's start; the holes between them are not read,
    /// and a chunk that reads as zeros is not stored. Both become zero runs, adjacent ones merged,
    /// so an extracted file has its holes exactly where the source had them (a file system that
    /// cannot tell reports one region, and chunks fall at multiples of the chunk size as in v1).
    /// - Returns: the bytes the file held as read.
    private func addSparseContent(of file: SystemFile, entry: Int64) throws -> Int64 {
        let size = try file.status().size
        var offset: Int64 = 0, sequence = 0, zeros: Int64 = 0
        func flushZeros() {
            guard zeros > 0 else { return }
            pipeline.addZeros(entry: entry, sequence: sequence, length: zeros)
            sequence += 1
            zeros = 0
        }
        for region in try FileAttributes.dataRegions(of: file, size: size) {
            zeros += region.lowerBound - offset
            offset = region.lowerBound
            while offset < region.upperBound {
                let wanted = Int(min(Int64(options.chunkSize), region.upperBound - offset))
                let count: Int
                switch try pipeline.read(from: file, at: offset, length: wanted) {
                case .end:
                    count = 0
                case .zeros(let read):
                    zeros += Int64(read)
                    count = read
                case .data(let read):
                    flushZeros()
                    pipeline.commitChunk(entry: entry, sequence: sequence)
                    sequence += 1
                    count = read
                }
                offset += Int64(count)
                if count < wanted {  // the file shrank while being read: it ends here
                    flushZeros()
                    return offset
                }
            }
        }
        zeros += size - offset  // a hole to the end
        flushZeros()
        return size
    }

    /// Writes header, key slot, header MAC, sealed index, frames and end marker (spec §2).
    private func assemble(into output: SystemFile) throws {
        try pipeline.finish()
        let framesLength = pipeline.framesLength
        summary.storedBytes = pipeline.storedBytes
        let (imageLength, compressedIndex) = try index.finish(compressor: ZstdCompressor(level: options.compressionLevel, windowLog: IndexImage.writtenWindowLog))
        var header = ArchiveHeader(archiveID: secrets.archiveID, keyCommitment: subkeys.commitment, chunkSize: UInt32(options.chunkSize), slotCount: UInt16(keyFiles.count + passphrases.count),
                                   indexPlainLength: UInt64(imageLength), indexStoredLength: UInt64(compressedIndex.count),
                                   frameCount: UInt64(pipeline.frameCount), framesLength: UInt64(framesLength), version: options.formatVersion)
        header.isSigned = options.signingKey != nil
        var frontLength: Int64
        do {
            var front = header.encoded()
            for (i, keyFile) in keyFiles.enumerated() {
                front += try KeyFileSlot.wrap(dataKey: secrets.dataKey, keyFile: keyFile, header: header, slotIndex: UInt16(i), backend: backend).encoded()
            }
            for (i, passphrase) in passphrases.enumerated() {
                let salt = try secrets.slotSalt ?? SecureRandom.bytes(16)
                front += try PassphraseSlot.wrap(dataKey: secrets.dataKey, passphrase: passphrase, cost: options.scryptCost, salt: salt, header: header,
                                                 slotIndex: UInt16(keyFiles.count + i), backend: backend).encoded()
            }
            let mac = try backend.makeHMACSHA256(key: subkeys.header).digest(front)
            try output.writeAll(front + mac)
            frontLength = Int64(front.count + mac.count)
            let digest = try backend.makeSHA256()
            try digest.update(front + mac)
            try writeSealedIndex(compressedIndex, header: header, to: output, digest: digest)
            if let signingKey = options.signingKey {
                let record = try signingKey.record(for: digest.finalize())
                try output.writeAll(record.encoded())
                frontLength += Int64(record.size)
            }
        } catch let error as CryptoError { throw ArchiveError.crypto(error, "sealing the index") }
        try output.append(from: frames, length: framesLength, consuming: true)
        try output.writeAll(endMarker(framesLength: UInt64(framesLength)))
        summary.frames = pipeline.frameCount
        summary.archiveBytes = frontLength + Int64(header.indexSealedLength) + framesLength + Int64(FormatV1.endMarkerSize)
    }

    private func writeSealedIndex(_ compressedIndex: Spool, header: ArchiveHeader, to output: SystemFile, digest: any DigestContext) throws {
        let context = try backend.aes256GCM(key: subkeys.index).makeContext()
        let count = header.indexSegmentCount
        var segment: UInt64 = 0
        try compressedIndex.read(pieceSize: Int(header.chunkSize)) { piece in
            let sealedPiece = try context.seal(Array(piece), nonce: counterNonce(segment),
                                               aad: indexAAD(version: options.formatVersion, archiveID: secrets.archiveID, segment: segment, segmentCount: count))
            try output.writeAll(sealedPiece)
            try digest.update(sealedPiece)
            segment += 1
        }
        guard segment == count else { throw ArchiveError(.internal, "the index made \(segment) segments, not \(count)") }
    }
}
