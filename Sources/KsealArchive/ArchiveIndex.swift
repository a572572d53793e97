/// What an index entry is (spec §9, `entries.kind`).
public enum EntryKind: Int64, Sendable {
    case file = 1
    case directory = 2
    case symlink = 3
    case hardLink = 4
}

/// One row of `entries`, with the file's chunk ordinals.
public struct Entry: Sendable {
    public let id: Int64
    public let path: [UInt8]
    public let kind: EntryKind
    public let mode: UInt32
    public let uid: UInt32
    public let gid: UInt32
    public let mtimeSeconds: Int64
    public let mtimeNanoseconds: Int64
    public let size: Int64
    /// Symlink text, or the path of the file a hard link shares.
    public let target: [UInt8]?
    /// Frame ordinals of the file's chunks, in order (files only): a slice of one array shared
    /// by all entries, so a file costs no allocation of its own.
    public let chunks: ArraySlice<Int>
}

/// One row of `chunks`: a frame.
public struct ChunkRecord: Sendable {
    public let plainLength: Int
    public let storedLength: Int
    public let compression: FrameCompression
    /// Held inline (four words), not as an array: an index has a record per chunk.
    let digest: ChunkDigest
    public let frameOffset: Int64
    public var sha256: [UInt8] { digest.bytes }

    init(plainLength: Int, storedLength: Int, compression: FrameCompression, digest: ChunkDigest, frameOffset: Int64) {
        self.plainLength = plainLength
        self.storedLength = storedLength
        self.compression = compression
        self.digest = digest
        self.frameOffset = frameOffset
    }
    var sealedLength: Int { storedLength + FormatV1.tagSize }
}

/// Builds the index during create.
final class IndexBuilder {
    // Released by finish(), which closes the database.
    private var database: Database!
    private var insertEntry: Statement!
    private var insertChunk: Statement!
    private var insertFileChunk: Statement!
    private var nextID: Int64 = 1

    init() throws {
        database = try Database.inMemory()
        try database.execute(IndexSchema.sql)
        try database.execute("BEGIN")
        insertEntry = try database.prepare("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?)")
        insertChunk = try database.prepare("INSERT INTO chunks VALUES (?,?,?,?,?,?)")
        insertFileChunk = try database.prepare("INSERT INTO file_chunks VALUES (?,?,?)")
    }

    /// Adds an entry and returns its id.
    @discardableResult
    func addEntry(path: [UInt8], kind: EntryKind, mode: UInt32, uid: UInt32, gid: UInt32, mtime: (Int64, Int64), size: Int64,
                  target: [UInt8]?) throws -> Int64 {
        let id = nextID
        try insertEntry.run([.integer(id), .blob(path), .integer(kind.rawValue), .integer(Int64(mode)), .integer(Int64(uid)),
                             .integer(Int64(gid)), .integer(mtime.0), .integer(mtime.1), .integer(size), target.map { .blob($0) } ?? .null])
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

    func addFileChunk(entry: Int64, sequence: Int, ordinal: Int) throws {
        try insertFileChunk.run([.integer(entry), .integer(Int64(sequence)), .integer(Int64(ordinal))])
    }

    /// Commits, closes the database and returns its image compressed. The pages are freed
    /// before compressing, so the database, its image and the compressed copy (each megabytes for
    /// a large tree) never add up. The builder is unusable afterwards.
    /// - Returns: the image's length and its compressed bytes.
    func finish(compressor: ZstdCompressor) throws -> (plainLength: Int, compressed: [UInt8]) {
        try database.execute("COMMIT")
        let image = try database.serialized()
        insertEntry = nil
        insertChunk = nil
        insertFileChunk = nil
        database = nil
        // `bytes` points into memory the image object frees: keep it alive through the use.
        return try withExtendedLifetime(image) { (image.bytes.count, try compressor.compress(image.bytes)) }
    }
}

/// An authenticated, validated index, loaded for reading (spec §9).
public struct ArchiveIndex: Sendable {
    public let entries: [Entry]
    public let chunks: [ChunkRecord]

    /// Plaintext bytes of all distinct chunks: what verify and extract decode.
    public var uniqueBytes: Int64 { chunks.reduce(0) { $0 + Int64($1.plainLength) } }

    /// Every value has its column's storage type (spec §9): SQLite would otherwise hand a TEXT
    /// path over as bytes and read a mode of 'abc' as 0, so a reader that converts and one that
    /// refuses would see different archives.
    private static func checkStorageTypes(_ database: Database) throws {
        let integer = { (columns: [String]) in columns.map { "typeof(\($0)) != 'integer'" }.joined(separator: " OR ") }
        let checks = [
            ("entries", integer(["kind", "mode", "uid", "gid", "mtime_sec", "mtime_nsec", "size"])
                + " OR typeof(path) != 'blob' OR (target IS NOT NULL AND typeof(target) != 'blob')"),
            ("chunks", integer(["plain_length", "stored_length", "compression", "frame_offset"]) + " OR typeof(sha256) != 'blob'"),
            ("file_chunks", integer(["entry_id", "seq", "ordinal"])),
        ]
        for (table, wrong) in checks {
            let query = try database.prepare("SELECT count(*) FROM \(table) WHERE \(wrong)")
            guard try query.step(), query.int64(0) == 0 else {
                throw ArchiveError(.damaged, "index: a value in \(table) does not have its column's storage type")
            }
        }
    }

    /// Loads and validates the index against the authenticated header. Every rule of spec §9 is
    /// checked here, once, so nothing downstream meets an inconsistent or hostile index.
    /// - Throws: ``ArchiveError`` `.damaged` (inconsistent) or `.unsafe` (hostile paths or links).
    static func load(_ database: Database, header: ArchiveHeader) throws -> ArchiveIndex {
        let pragma = try database.prepare("PRAGMA application_id")
        guard try pragma.step(), pragma.int64(0) == 1_263_748_428 else { throw ArchiveError(.damaged, "index: not a kseal index (application_id)") }
        let version = try database.prepare("PRAGMA user_version")
        guard try version.step(), version.int64(0) == 1 else { throw ArchiveError(.unsupported, "index: unknown index version") }
        // The schema must be kseal's, object for object: a view, trigger or altered table in a
        // sealed but hostile index could otherwise make the queries below do anything.
        guard try schemaObjects(database) == (try expectedSchemaObjects()) else {
            throw ArchiveError(.damaged, "index: the database schema is not kseal's index schema v1")
        }
        try checkStorageTypes(database)

        // Sized once (arrays that double would briefly hold both copies). The header's frame
        // count is only a hint, bounded by what the image can hold (a chunk row carries at least
        // its 32-byte digest), so a hostile count cannot make a large reservation.
        var chunks: [ChunkRecord] = []
        chunks.reserveCapacity(Int(min(header.frameCount, header.indexPlainLength / 32)))
        let chunkRows = try database.prepare("SELECT ordinal, sha256, plain_length, stored_length, compression, frame_offset FROM chunks ORDER BY ordinal")
        var offset: Int64 = 0
        let chunkSize = Int64(header.chunkSize)
        while try chunkRows.step() {
            let ordinal = chunkRows.int64(0), plain = chunkRows.int64(2), stored = chunkRows.int64(3)
            let sha = chunkRows.blob(1)
            guard ordinal == Int64(chunks.count) else { throw ArchiveError(.damaged, "index: chunk ordinals are not 0, 1, 2, …") }
            let compressionValue = chunkRows.int64(4)
            guard (0...1).contains(compressionValue), let compression = FrameCompression(rawValue: UInt8(compressionValue)) else {
                throw ArchiveError(.damaged, "index: chunk \(ordinal) has unknown compression")
            }
            guard sha.count == 32, plain >= 1, plain <= chunkSize, stored >= 1, stored <= chunkSize,
                  compression == .zstd || stored == plain, chunkRows.int64(5) == offset else {
                throw ArchiveError(.damaged, "index: chunk \(ordinal) has inconsistent lengths or offset")
            }
            chunks.append(ChunkRecord(plainLength: Int(plain), storedLength: Int(stored), compression: compression,
                                      digest: sha.withUnsafeBytes { ChunkDigest($0) }, frameOffset: offset))
            offset += stored + Int64(FormatV1.tagSize)
        }
        guard UInt64(chunks.count) == header.frameCount, UInt64(offset) == header.framesLength else {
            throw ArchiveError(.damaged, "index lists \(chunks.count) frames of \(offset) bytes; the header says \(header.frameCount) of \(header.framesLength)")
        }

        // Chunk ordinals of all files, in order of entry and sequence, in one array; each entry
        // takes its run of it below (both lists are sorted by entry id).
        var ordinalOwners: [Int64] = []
        var allOrdinals: [Int] = []
        let chunkRefs = try database.prepare("SELECT entry_id, seq, ordinal FROM file_chunks ORDER BY entry_id, seq")
        var lastEntry: Int64 = -1
        var expectedSeq: Int64 = 0
        while try chunkRefs.step() {
            let entry = chunkRefs.int64(0), seq = chunkRefs.int64(1), ordinal = chunkRefs.int64(2)
            if entry != lastEntry { lastEntry = entry; expectedSeq = 0 }
            guard seq == expectedSeq, ordinal >= 0, ordinal < Int64(chunks.count) else {
                throw ArchiveError(.damaged, "index: entry \(entry) refers to chunks out of order or out of range")
            }
            ordinalOwners.append(entry)
            allOrdinals.append(Int(ordinal))
            expectedSeq += 1
        }
        var nextReference = 0

        var entries: [Entry] = []
        let entryCount = try database.prepare("SELECT count(*) FROM entries")
        if try entryCount.step() { entries.reserveCapacity(Int(min(max(entryCount.int64(0), 0), 1 << 24))) }
        var seen: [[UInt8]: EntryKind] = [:]
        /// Every proper prefix of an entry so far: a later entry there must be a directory.
        var containing = Set<[UInt8]>()
        var fileSizes: [[UInt8]: Int64] = [:]
        var nextFrame = 0
        let rows = try database.prepare("SELECT id, path, kind, mode, uid, gid, mtime_sec, mtime_nsec, size, target FROM entries ORDER BY id")
        while try rows.step() {
            let id = rows.int64(0), path = rows.blob(1)
            guard id == Int64(entries.count + 1) else { throw ArchiveError(.damaged, "index: entry ids are not 1, 2, 3, …") }
            try EntryPath.validate(path)
            guard let kind = EntryKind(rawValue: rows.int64(2)) else { throw ArchiveError(.damaged, "index: \(display(path)) has unknown kind") }
            guard seen[path] == nil else { throw ArchiveError(.unsafe, "index: duplicate path \(display(path))") }
            // No entry may sit beneath a symlink or a file, whichever comes first (spec §9).
            let parents = EntryPath.parents(of: path)
            for prefix in parents where seen[prefix].map({ $0 != .directory }) ?? false {
                throw ArchiveError(.unsafe, "index: \(display(path)) lies beneath the non-directory \(display(prefix))")
            }
            let mode = rows.int64(3), uid = rows.int64(4), gid = rows.int64(5), nsec = rows.int64(7), size = rows.int64(8)
            guard (0...0o7777).contains(mode), (0...Int64(UInt32.max)).contains(uid), (0...Int64(UInt32.max)).contains(gid),
                  (0..<1_000_000_000).contains(nsec), size >= 0 else {
                throw ArchiveError(.damaged, "index: \(display(path)) has out-of-range metadata")
            }
            let target: [UInt8]? = rows.isNull(9) ? nil : rows.blob(9)
            // Both lists ascend, so a reference below this id names an entry that does not exist.
            if nextReference < ordinalOwners.count, ordinalOwners[nextReference] < id {
                throw ArchiveError(.damaged, "index: chunk references to entries that do not exist")
            }
            let firstReference = nextReference
            while nextReference < ordinalOwners.count, ordinalOwners[nextReference] == id { nextReference += 1 }
            let ordinals = allOrdinals[firstReference..<nextReference]
            switch kind {
            case .file:
                guard target == nil else { throw ArchiveError(.damaged, "index: file \(display(path)) has a link target") }
                var total: Int64 = 0
                for ordinal in ordinals {
                    // Frames appear in the order of their first use (spec §6), so a streaming reader
                    // always has each frame's bytes before, or exactly when, they are needed.
                    if ordinal == nextFrame { nextFrame += 1 } else if ordinal > nextFrame {
                        throw ArchiveError(.damaged, "index: \(display(path)) uses frame \(ordinal) before frame \(nextFrame)")
                    }
                    total += Int64(chunks[ordinal].plainLength)
                }
                guard total == size else { throw ArchiveError(.damaged, "index: \(display(path)) declares \(size) bytes; its chunks hold \(total)") }
            case .hardLink:
                guard let target, seen[target] == .file, ordinals.isEmpty else {
                    throw ArchiveError(.unsafe, "index: hard link \(display(path)) does not name an earlier file of the archive")
                }
                guard fileSizes[target] == size else {
                    throw ArchiveError(.damaged, "index: hard link \(display(path)) disagrees with its file's size")
                }
            case .symlink:
                guard let target, !target.isEmpty, !target.contains(0), ordinals.isEmpty, size == 0 else {
                    throw ArchiveError(.damaged, "index: symlink \(display(path)) is malformed")
                }
            case .directory:
                guard target == nil, ordinals.isEmpty, size == 0 else { throw ArchiveError(.damaged, "index: directory \(display(path)) is malformed") }
            }
            if kind != .directory, containing.contains(path) {
                throw ArchiveError(.unsafe, "index: \(display(path)) is not a directory, but earlier entries lie beneath it")
            }
            seen[path] = kind
            containing.formUnion(parents)
            if kind == .file { fileSizes[path] = size }
            entries.append(Entry(id: id, path: path, kind: kind, mode: UInt32(mode), uid: UInt32(uid), gid: UInt32(gid), mtimeSeconds: rows.int64(6),
                                 mtimeNanoseconds: nsec, size: size, target: target, chunks: ordinals))
        }
        guard nextReference == ordinalOwners.count else { throw ArchiveError(.damaged, "index: chunk references to entries that do not exist") }
        guard nextFrame == chunks.count else { throw ArchiveError(.damaged, "index: \(chunks.count - nextFrame) frames are used by no file") }
        return ArchiveIndex(entries: entries, chunks: chunks)
    }
}

/// `sqlite_schema` rows (type, name, table, SQL text) in a stable order.
private func schemaObjects(_ database: Database) throws -> [[String?]] {
    let rows = try database.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")
    var objects: [[String?]] = []
    while try rows.step() { objects.append((0..<4).map { rows.text(Int32($0)) }) }
    return objects
}

/// The `sqlite_schema` rows of a database made from Formats/kseal-index-v1.sql.
private func expectedSchemaObjects() throws -> [[String?]] {
    let reference = try Database.inMemory()
    try reference.execute(IndexSchema.sql)
    return try schemaObjects(reference)
}

/// The rules for paths stored in an index (spec §9).
public enum EntryPath {
    public static let maxLength = 4095
    public static let maxComponent = 255

    /// - Throws: ``ArchiveError`` `.unsafe` for absolute paths, `.`/`..` or empty components, NUL
    ///   bytes or over-long names.
    public static func validate(_ path: [UInt8]) throws {
        guard !path.isEmpty, path.count <= maxLength, !path.contains(0) else {
            throw ArchiveError(.unsafe, "index: invalid path \(display(path))")
        }
        guard path.first != UInt8(ascii: "/") else { throw ArchiveError(.unsafe, "index: absolute path \(display(path))") }
        for component in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard !component.isEmpty, component.count <= maxComponent else {
                throw ArchiveError(.unsafe, "index: invalid path \(display(path))")
            }
            guard !(component.count == 1 && component.first == UInt8(ascii: ".")),
                  !(component.count == 2 && component.allSatisfy { $0 == UInt8(ascii: ".") }) else {
                throw ArchiveError(.unsafe, "index: path with a '.' or '..' component: \(display(path))")
            }
        }
    }

    /// The proper prefixes of a path: `a`, `a/b` for `a/b/c`.
    static func parents(of path: [UInt8]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        for (i, byte) in path.enumerated() where byte == UInt8(ascii: "/") { result.append(Array(path[..<i])) }
        return result
    }
}
