#if canImport(Glibc)
import Glibc
#endif
import KsealCrypto

/// Settings for ``ArchiveWriter``.
public struct CreateOptions: Sendable {
    /// zstd level for chunks and the index.
    public var compressionLevel: Int32 = 3
    public var chunkSize = FormatV1.defaultChunkSize
    /// Fixed secrets, for test vectors only; nil draws fresh ones from the system (always, in the CLI).
    public var secrets: ArchiveSecrets?
    /// Record this owner instead of each file's, so vectors reproduce on any machine.
    public var ownerOverride: (uid: UInt32, gid: UInt32)?
    public init() {}
}

/// Where the archive goes.
public enum ArchiveDestination: Sendable {
    case file(String)
    case standardOutput
}

/// What a create did.
public struct CreateSummary: Sendable {
    public var files = 0, directories = 0, symlinks = 0, hardLinks = 0, skipped = 0
    public var inputBytes: Int64 = 0
    public var frames = 0
    public var storedBytes: Int64 = 0
    public var archiveBytes: Int64 = 0
}

/// Writes a format v1 archive (spec §8, "Writing").
///
/// Frames go to an unlinked temporary file as files are read; then the header, key slot, header
/// MAC and sealed index are written, the frames are copied after them (`copy_file_range`) and the
/// end marker closes the archive. A file destination is written under a temporary name and renamed
/// into place only when complete.
public final class ArchiveWriter {
    private let backend: any CryptoBackend
    private let options: CreateOptions
    private let warn: (String) -> Void
    private let secrets: ArchiveSecrets
    private let subkeys: Subkeys
    private let aead: any AEADContext
    private let sha256: any DigestContext
    private let compressor: ZstdCompressor
    private let index: IndexBuilder
    private let frames: SystemFile
    private var framesLength: Int64 = 0
    private var dedup: [[UInt8]: Int] = [:]
    private var chunks: [ChunkRecord] = []
    private var storedPaths = Set<[UInt8]>()
    private var hardLinkSources: [FileIdentity: [UInt8]] = [:]
    private var fileSizes: [[UInt8]: Int64] = [:]
    /// The archive being written and the one it replaces: never archived into themselves.
    private var exclude = Set<FileIdentity>()
    private let keyFile: KeyFile
    private var summary = CreateSummary()
    // Chunk buffers, reused for every chunk.
    private var plain: UnsafeMutableRawBufferPointer
    private var compressed: UnsafeMutableRawBufferPointer
    private var sealed: UnsafeMutableRawBufferPointer

    /// Creates an archive of `paths`.
    /// - Parameters:
    ///   - paths: inputs as given on the command line; stored relative (see ``storedName(for:)``).
    ///   - destination: a file (written atomically) or standard output.
    ///   - keyFile: the key the data key is wrapped for.
    ///   - backend: the crypto backend, chosen once by the caller.
    ///   - warn: told about skipped files and similar.
    /// - Throws: ``ArchiveError``; nothing is left at the destination path on failure.
    public static func create(paths: [[UInt8]], destination: ArchiveDestination, keyFile: KeyFile, backend: any CryptoBackend,
                              options: CreateOptions = CreateOptions(), warn: @escaping (String) -> Void) throws -> CreateSummary {
        let workDirectory: String
        switch destination {
        case .file(let path): workDirectory = directoryName(path)
        case .standardOutput: workDirectory = ProcessEnvironment.temporaryDirectory
        }
        let writer = try ArchiveWriter(backend: backend, keyFile: keyFile, options: options, framesDirectory: workDirectory, warn: warn)
        switch destination {
        case .file(let path):
            let output = try AtomicOutput(path: path)
            writer.exclude.insert(try output.file.status().identity)
            if let previous = try? FileStatus.of(Array(path.utf8)) { writer.exclude.insert(previous.identity) }
            for input in paths { try writer.add(input: input) }
            try writer.assemble(into: output.file)
            try output.commit()
        case .standardOutput:
            for input in paths { try writer.add(input: input) }
            try writer.assemble(into: SystemFile.standardOutput())
        }
        return writer.summary
    }

    private init(backend: any CryptoBackend, keyFile: KeyFile, options: CreateOptions, framesDirectory: String, warn: @escaping (String) -> Void) throws {
        guard options.chunkSize >= FormatV1.minChunkSize, options.chunkSize <= FormatV1.maxChunkSize,
              options.chunkSize & (options.chunkSize - 1) == 0 else {
            throw ArchiveError(.usage, "chunk size must be a power of two from \(FormatV1.minChunkSize) to \(FormatV1.maxChunkSize)")
        }
        guard (1...19).contains(options.compressionLevel) else { throw ArchiveError(.usage, "compression level must be 1 to 19") }
        self.backend = backend
        self.keyFile = keyFile
        self.options = options
        self.warn = warn
        secrets = try options.secrets ?? ArchiveSecrets.fresh()
        do {
            subkeys = try Subkeys(backend: backend, dataKey: secrets.dataKey, archiveID: secrets.archiveID)
            aead = try backend.aes256GCM(key: subkeys.chunk).makeContext()
            sha256 = try backend.makeSHA256()
        } catch let error as CryptoError { throw ArchiveError.crypto(error, "setting up encryption") }
        compressor = try ZstdCompressor(level: options.compressionLevel)
        index = try IndexBuilder()
        frames = try unlinkedTemporaryFile(in: framesDirectory)
        plain = .allocate(byteCount: options.chunkSize, alignment: 64)
        compressed = .allocate(byteCount: options.chunkSize, alignment: 64)
        sealed = .allocate(byteCount: options.chunkSize + FormatV1.tagSize, alignment: 64)
    }

    deinit {
        plain.deallocate()
        compressed.deallocate()
        sealed.deallocate()
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
        try add(source: input, stored: try Self.storedName(for: input))
    }

    private func add(source: [UInt8], stored: [UInt8]) throws {
        let status = try FileStatus.of(source)
        if exclude.contains(status.identity) {
            warn("\(display(source)): is the archive being written or replaced; not added")
            return
        }
        if !stored.isEmpty {
            guard storedPaths.insert(stored).inserted else {
                warn("\(display(source)): already added as \(display(stored)); skipped")
                return
            }
        }
        let owner = options.ownerOverride ?? (status.uid, status.gid)
        let mtime = (status.mtimeSeconds, status.mtimeNanoseconds)
        switch status.kind {
        case .directory:
            if !stored.isEmpty {
                try index.addEntry(path: stored, kind: .directory, mode: status.mode, uid: owner.uid, gid: owner.gid, mtime: mtime, size: 0, target: nil)
                summary.directories += 1
            }
            for name in try directoryEntries(source) {
                let child = source.last == UInt8(ascii: "/") ? source + name : source + [UInt8(ascii: "/")] + name
                try add(source: child, stored: stored.isEmpty ? name : stored + [UInt8(ascii: "/")] + name)
            }
        case .symlink:
            let target = try readLinkTarget(source)
            try index.addEntry(path: stored, kind: .symlink, mode: status.mode, uid: owner.uid, gid: owner.gid, mtime: mtime, size: 0, target: target)
            summary.symlinks += 1
        case .regular:
            guard !stored.isEmpty else { throw ArchiveError(.usage, "\(display(source)): a file needs a name in the archive") }
            if status.linkCount > 1, let first = hardLinkSources[status.identity] {
                try index.addEntry(path: stored, kind: .hardLink, mode: status.mode, uid: owner.uid, gid: owner.gid, mtime: mtime,
                                   size: fileSizes[first] ?? 0, target: first)
                summary.hardLinks += 1
                return
            }
            let id = try index.addEntry(path: stored, kind: .file, mode: status.mode, uid: owner.uid, gid: owner.gid, mtime: mtime,
                                        size: status.size, target: nil)
            let size = try addContent(of: source, entry: id)
            if size != status.size {
                warn("\(display(source)): changed size while being read (\(status.size) → \(size) bytes); archived as read")
                try index.updateSize(of: id, to: size)
            }
            if status.linkCount > 1 { hardLinkSources[status.identity] = stored }
            fileSizes[stored] = size
            summary.files += 1
            summary.inputBytes += size
        case .other(let what):
            warn("\(display(source)): \(what) not archived")
            summary.skipped += 1
        }
    }

    /// Reads a file chunk by chunk: hash, deduplicate, compress, seal, append the frame.
    private func addContent(of source: [UInt8], entry: Int64) throws -> Int64 {
        let file = try SystemFile.open(bytes: source, flags: O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        var total: Int64 = 0
        var sequence = 0
        while true {
            let count = try file.readFully(into: plain)
            if count == 0 { break }
            let ordinal = try storeChunk(UnsafeRawBufferPointer(rebasing: plain[0..<count]), path: source)
            try index.addFileChunk(entry: entry, sequence: sequence, ordinal: ordinal)
            sequence += 1
            total += Int64(count)
            if count < plain.count { break }
        }
        return total
    }

    private func storeChunk(_ chunk: UnsafeRawBufferPointer, path: [UInt8]) throws -> Int {
        let digest: [UInt8]
        do { digest = try sha256.digest(chunk) } catch let error as CryptoError { throw ArchiveError.crypto(error, display(path)) }
        if let ordinal = dedup[digest] { return ordinal }
        let ordinal = chunks.count
        // A chunk is stored compressed only if zstd makes it strictly smaller (spec §7).
        let compressedCount = compressor.compress(chunk, into: UnsafeMutableRawBufferPointer(rebasing: compressed[0..<(chunk.count - 1)]))
        let compression: FrameCompression = compressedCount == nil ? .raw : .zstd
        let stored = compressedCount.map { UnsafeRawBufferPointer(rebasing: compressed[0..<$0]) } ?? chunk
        let aad = frameAAD(archiveID: secrets.archiveID, ordinal: UInt64(ordinal), compression: compression, plainLength: chunk.count,
                           storedLength: stored.count, sha256: digest)
        let sealedCount: Int
        do {
            sealedCount = try counterNonce(UInt64(ordinal)).withUnsafeBytes { nonce in
                try aad.withUnsafeBytes { try aead.seal(stored, nonce: nonce, aad: $0, into: sealed) }
            }
        } catch let error as CryptoError { throw ArchiveError.crypto(error, display(path)) }
        try frames.writeAll(UnsafeRawBufferPointer(rebasing: sealed[0..<sealedCount]))
        let record = ChunkRecord(plainLength: chunk.count, storedLength: stored.count, compression: compression, sha256: digest, frameOffset: framesLength)
        try index.addChunk(ordinal: ordinal, record)
        chunks.append(record)
        dedup[digest] = ordinal
        framesLength += Int64(sealedCount)
        summary.storedBytes += Int64(stored.count)
        return ordinal
    }

    /// Writes header, key slot, header MAC, sealed index, frames and end marker (spec §2).
    private func assemble(into output: SystemFile) throws {
        let image = try index.finish()
        let compressedIndex = try compressWhole(image)
        let header = ArchiveHeader(archiveID: secrets.archiveID, keyCommitment: subkeys.commitment, chunkSize: UInt32(options.chunkSize), slotCount: 1,
                                   indexPlainLength: UInt64(image.count), indexStoredLength: UInt64(compressedIndex.count),
                                   frameCount: UInt64(chunks.count), framesLength: UInt64(framesLength))
        let frontLength: Int64
        do {
            let slot = try KeyFileSlot.wrap(dataKey: secrets.dataKey, keyFile: keyFile, header: header, slotIndex: 0, backend: backend)
            let front = header.encoded() + slot.encoded()
            let mac = try backend.makeHMACSHA256(key: subkeys.header).digest(front)
            try output.writeAll(front + mac)
            frontLength = Int64(front.count + mac.count)
            try writeSealedIndex(compressedIndex, header: header, to: output)
        } catch let error as CryptoError { throw ArchiveError.crypto(error, "sealing the index") }
        try output.append(from: frames, length: framesLength)
        try output.writeAll(endMarker(framesLength: UInt64(framesLength)))
        summary.frames = chunks.count
        summary.archiveBytes = frontLength + Int64(header.indexSealedLength) + framesLength + Int64(FormatV1.endMarkerSize)
    }

    private func writeSealedIndex(_ compressedIndex: [UInt8], header: ArchiveHeader, to output: SystemFile) throws {
        let context = try backend.aes256GCM(key: subkeys.index).makeContext()
        let count = header.indexSegmentCount
        let size = Int(header.chunkSize)
        for segment in 0..<count {
            let start = Int(segment) * size
            let piece = Array(compressedIndex[start..<min(start + size, compressedIndex.count)])
            let sealedPiece = try context.seal(piece, nonce: counterNonce(segment),
                                               aad: indexAAD(archiveID: secrets.archiveID, segment: segment, segmentCount: count))
            try output.writeAll(sealedPiece)
        }
    }

    private func compressWhole(_ image: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ZstdCompressor.bound(image.count))
        let count = image.withUnsafeBytes { input in out.withUnsafeMutableBytes { compressor.compress(input, into: $0) } }
        guard let count else { throw ArchiveError(.internal, "zstd: cannot compress the index") }
        return Array(out.prefix(count))
    }
}
