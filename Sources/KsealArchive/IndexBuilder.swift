/// Builds the index during create, in the schema of `version`.
final class IndexBuilder {
    let version: FormatVersion
    // Released by finish(), which closes the database.
    private var database: Database!
    private var insertEntry: Statement!
    private var insertChunk: Statement!
    private var insertFileChunk: Statement!
    private var insertAttribute: Statement?
    private var nextID: Int64 = 1

    init(version: FormatVersion = .written) throws {
        self.version = version
        database = try Database.inMemory()
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
        insertAttribute = nil
        database = nil
        // `bytes` points into memory the image object frees: keep it alive through the use.
        return try withExtendedLifetime(image) { (image.bytes.count, try compressor.compress(image.bytes)) }
    }
}
