#if canImport(Glibc)
import Glibc
#endif

/// Builds the index during create, in the schema of `version`.
///
/// The database is a scratch file (unlinked once open) with a bounded page cache, so a large
/// tree's index takes disk, not memory; ``finish(compressor:)`` streams it into zstd.
final class IndexBuilder {
    let version: FormatVersion
    private let scratch: NamedScratchFile
    // Released by finish(), which closes the database.
    private var database: Database!
    private var insertEntry: Statement!
    private var insertChunk: Statement!
    private var insertFileChunk: Statement!
    private var insertAttribute: Statement?
    private var findChunk: Statement!
    private var nextID: Int64 = 1

    /// - Parameter directory: where the scratch file goes (create's work directory).
    init(version: FormatVersion = .written, directory: String = ProcessEnvironment.temporaryDirectory) throws {
        self.version = version
        scratch = try NamedScratchFile(in: directory)
        database = try Database.build(at: scratch.path)
        scratch.unlink()
        try database.execute(IndexSchema.sql(for: version))
        try database.execute("BEGIN")
        switch version {
        case .v1:
            insertEntry = try database.prepare("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?)")
            insertFileChunk = try database.prepare("INSERT INTO file_chunks VALUES (?,?,?)")
        case .v2:
            insertEntry = try database.prepare("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
            insertFileChunk = try database.prepare("INSERT INTO file_chunks VALUES (?,?,?,?)")
            insertAttribute = try database.prepare("INSERT INTO xattrs VALUES (?,?,?)")
        }
        insertChunk = try database.prepare("INSERT INTO chunks VALUES (?,?,?,?,?,?)")
        findChunk = try database.prepare("SELECT ordinal FROM chunks WHERE sha256 = ?")
    }

    /// What v2 adds to an entry's row (ignored for v1, whose writer never has any).
    struct Extras {
        var userName: [UInt8]?
        var groupName: [UInt8]?
        var device: DeviceNumber?
        var attributes: [ExtendedAttribute] = []
    }

    /// Adds an entry and returns its id.
    @discardableResult
    func addEntry(path: [UInt8], kind: EntryKind, mode: UInt32, uid: UInt32, gid: UInt32, mtime: (Int64, Int64), size: Int64,
                  target: [UInt8]?, extras: Extras = Extras()) throws -> Int64 {
        let id = nextID
        let blob = { (bytes: [UInt8]?) in bytes.map { SQLValue.blob($0) } ?? .null }
        var row: [SQLValue] = [.integer(id), .blob(path), .integer(kind.rawValue), .integer(Int64(mode)), .integer(Int64(uid)), .integer(Int64(gid))]
        if version == .v2 { row += [blob(extras.userName), blob(extras.groupName)] }
        row += [.integer(mtime.0), .integer(mtime.1), .integer(size), blob(target)]
        if version == .v2 {
            row += extras.device.map { [.integer(Int64($0.major)), .integer(Int64($0.minor))] } ?? [.null, .null]
            for attribute in extras.attributes {
                try insertAttribute!.run([.integer(id), .blob(attribute.name), .blob(attribute.value)])
            }
        }
        try insertEntry.run(row)
        nextID += 1
        return id
    }

    func updateSize(of id: Int64, to size: Int64) throws {
        try database.prepare("UPDATE entries SET size = ? WHERE id = ?").run([.integer(size), .integer(id)])
    }

    func addChunk(ordinal: Int, _ chunk: ChunkRecord) throws {
        try insertChunk.run([.integer(Int64(ordinal)), .blob(chunk.sha256), .integer(Int64(chunk.plainLength)),
                             .integer(Int64(chunk.storedLength)), .integer(Int64(chunk.compression.rawValue)), .integer(chunk.frameOffset)])
    }

    /// The ordinal of the chunk added with this digest, if one was (through the sha256 index).
    func ordinal(of digest: ChunkDigest) throws -> Int? {
        try findChunk.bind([.blob(digest.bytes)])
        defer { findChunk.reset() }
        return try findChunk.step() ? Int(findChunk.int64(0)) : nil
    }

    func addFileChunk(entry: Int64, sequence: Int, ordinal: Int) throws {
        var row: [SQLValue] = [.integer(entry), .integer(Int64(sequence)), .integer(Int64(ordinal))]
        if version == .v2 { row.append(.integer(0)) }
        try insertFileChunk.run(row)
    }

    /// A run of `length` zero bytes in a file (v2 only): recorded, never stored.
    func addZeros(entry: Int64, sequence: Int, length: Int64) throws {
        precondition(version == .v2, "zero runs are format v2")
        try insertFileChunk.run([.integer(entry), .integer(Int64(sequence)), .null, .integer(length)])
    }

    /// Commits, closes the database and returns its image compressed, streamed from the file
    /// into `Spool` (memory up to 256 KiB, then a scratch file). The builder is unusable afterwards.
    /// - Returns: the image's length and its compressed bytes.
    func finish(compressor: ZstdCompressor) throws -> (plainLength: Int, compressed: Spool) {
        try database.execute("COMMIT")
        insertEntry = nil
        insertChunk = nil
        insertFileChunk = nil
        insertAttribute = nil
        findChunk = nil
        database = nil  // closed: every page is in the file
        let file = scratch.file
        let length = Int(try file.status().size)
        let compressed = Spool(limit: IndexImage.inMemoryLimit)
        try compressor.compressStream(count: length, input: { body in
            try file.readPieces(count: length, what: "the index being built") { piece, offset in
                if offset == 0 { Self.normalizeHeader(piece) }
                try body(UnsafeRawBufferPointer(piece))
            }
        }, output: { try compressed.append($0) })
        return (length, compressed)
    }

    /// Zeroes the three database-header fields in which a file differs from the same database
    /// serialized from memory (how kseal built indexes up to 0.3.0, and what the vectors hold):
    /// the file change counter (offset 24), the version-valid-for number (92, equal to it, so the
    /// in-header page count stays valid) and the SQLite version number (96). SQLite writes them
    /// when it commits to a file; the pages are otherwise the same bytes (FormatVectorTests), so
    /// an index no longer depends on how it was built, nor on the SQLite version.
    static func normalizeHeader(_ page: UnsafeMutableRawBufferPointer) {
        guard page.count >= 100 else { return }
        for offset in [24, 92, 96] { page.storeBytes(of: 0, toByteOffset: offset, as: UInt32.self) }
    }
}
