extension ArchiveIndex {
    /// Loads and validates the index against the authenticated header (see ``IndexLoader``).
    /// - Throws: ``ArchiveError`` `.damaged` (inconsistent) or `.unsafe` (hostile paths or links).
    static func load(_ database: Database, header: ArchiveHeader) throws -> ArchiveIndex {
        try IndexLoader(database: database, header: header).load()
    }
}

/// Loads an authenticated index image and checks every rule of spec §9 on it, once, so nothing
/// downstream meets an inconsistent or hostile index. One stage per table: identity and schema,
/// storage types, chunks, file extents, extended attributes (v2), then the entries, which are
/// checked against all the rest.
struct IndexLoader {
    private let database: Database
    private let header: ArchiveHeader
    private var version: FormatVersion { header.version }

    init(database: Database, header: ArchiveHeader) {
        self.database = database
        self.header = header
    }

    func load() throws -> ArchiveIndex {
        try checkIdentity()
        try checkStorageTypes()
        let chunks = try loadChunks()
        let extents = try loadExtents(chunkCount: chunks.count)
        let attributes = version == .v2 ? try loadAttributes() : [:]
        let entries = try loadEntries(chunks: chunks, extents: extents, attributes: attributes)
        return ArchiveIndex(entries: entries, chunks: chunks)
    }

    /// `application_id`, then `user_version` against the header's version, then the schema of
    /// that version, object for object: a view, trigger or altered table in a sealed but hostile
    /// index could otherwise make the queries below do anything.
    private func checkIdentity() throws {
        let pragma = try database.prepare("PRAGMA application_id")
        guard try pragma.step(), pragma.int64(0) == 1_263_748_428 else { throw ArchiveError(.damaged, "index: not a kseal index (application_id)") }
        let userVersion = try database.prepare("PRAGMA user_version")
        guard try userVersion.step(), let indexVersion = FormatVersion(rawValue: UInt16(clamping: userVersion.int64(0))) else {
            throw ArchiveError(.unsupported, "index: unknown index version")
        }
        guard indexVersion == version else {
            throw ArchiveError(.damaged, "index: an index of version \(indexVersion.rawValue) in an archive of version \(version.rawValue)")
        }
        guard try schemaObjects(database) == (try expectedSchemaObjects(version)) else {
            throw ArchiveError(.damaged, "index: the database schema is not kseal's index schema v\(version.rawValue)")
        }
    }

    /// Every value has its column's storage type (spec §9): SQLite would otherwise hand a TEXT
    /// path over as bytes and read a mode of 'abc' as 0, so a reader that converts and one that
    /// refuses would see different archives. (v2's STRICT tables refuse such values on write
    /// only; a crafted image can still hold them.)
    private func checkStorageTypes() throws {
        let integer = { (columns: [String]) in columns.map { "typeof(\($0)) != 'integer'" }.joined(separator: " OR ") }
        let blobOrNull = { (columns: [String]) in columns.map { " OR (\($0) IS NOT NULL AND typeof(\($0)) != 'blob')" }.joined() }
        let integerOrNull = { (columns: [String]) in columns.map { " OR (\($0) IS NOT NULL AND typeof(\($0)) != 'integer')" }.joined() }
        var checks = [
            ("entries", integer(["kind", "mode", "uid", "gid", "mtime_sec", "mtime_nsec", "size"]) + " OR typeof(path) != 'blob'"
                + blobOrNull(version == .v2 ? ["target", "user_name", "group_name"] : ["target"])
                + (version == .v2 ? integerOrNull(["dev_major", "dev_minor"]) : "")),
            ("chunks", integer(["plain_length", "stored_length", "compression", "frame_offset"]) + " OR typeof(sha256) != 'blob'"),
            ("file_chunks", version == .v2 ? integer(["entry_id", "seq", "zeros"]) + integerOrNull(["ordinal"]) : integer(["entry_id", "seq", "ordinal"])),
        ]
        if version == .v2 { checks.append(("xattrs", integer(["entry_id"]) + " OR typeof(name) != 'blob' OR typeof(value) != 'blob'")) }
        for (table, wrong) in checks {
            let query = try database.prepare("SELECT count(*) FROM \(table) WHERE \(wrong)")
            guard try query.step(), query.int64(0) == 0 else {
                throw ArchiveError(.damaged, "index: a value in \(table) does not have its column's storage type")
            }
        }
    }

    /// The `chunks` table: ordinals 0, 1, 2, …, lengths in range, offsets the running sum, and
    /// totals that match the authenticated header.
    private func loadChunks() throws -> [ChunkRecord] {
        // Sized once (arrays that double would briefly hold both copies). The header's frame
        // count is only a hint, bounded by what the image can hold (a chunk row carries at least
        // its 32-byte digest), so a hostile count cannot make a large reservation.
        var chunks: [ChunkRecord] = []
        chunks.reserveCapacity(Int(min(header.frameCount, header.indexPlainLength / 32)))
        let rows = try database.prepare("SELECT ordinal, sha256, plain_length, stored_length, compression, frame_offset FROM chunks ORDER BY ordinal")
        var offset: Int64 = 0
        let chunkSize = Int64(header.chunkSize)
        while try rows.step() {
            let ordinal = rows.int64(0), plain = rows.int64(2), stored = rows.int64(3)
            let sha = rows.blob(1)
            guard ordinal == Int64(chunks.count) else { throw ArchiveError(.damaged, "index: chunk ordinals are not 0, 1, 2, …") }
            let compressionValue = rows.int64(4)
            guard (0...1).contains(compressionValue), let compression = FrameCompression(rawValue: UInt8(compressionValue)) else {
                throw ArchiveError(.damaged, "index: chunk \(ordinal) has unknown compression")
            }
            guard sha.count == 32, plain >= 1, plain <= chunkSize, stored >= 1, stored <= chunkSize,
                  compression == .zstd || stored == plain, rows.int64(5) == offset else {
                throw ArchiveError(.damaged, "index: chunk \(ordinal) has inconsistent lengths or offset")
            }
            chunks.append(ChunkRecord(plainLength: Int(plain), storedLength: Int(stored), compression: compression,
                                      digest: sha.withUnsafeBytes { ChunkDigest($0) }, frameOffset: offset))
            offset += stored + Int64(FormatV1.tagSize)
        }
        guard UInt64(chunks.count) == header.frameCount, UInt64(offset) == header.framesLength else {
            throw ArchiveError(.damaged, "index lists \(chunks.count) frames of \(offset) bytes; the header says \(header.frameCount) of \(header.framesLength)")
        }
        return chunks
    }

    /// All files' `file_chunks` rows, in order of entry and sequence.
    struct Extents {
        /// Chunk ordinals in one array, with the entry each belongs to; each entry takes its run.
        var owners: [Int64] = []
        var ordinals: [Int] = []
        /// The full extent lists of the files that have zero runs (format v2), by entry id.
        var withZeros: [Int64: [Extent]] = [:]
    }

    private func loadExtents(chunkCount: Int) throws -> Extents {
        var extents = Extents()
        let query = version == .v2 ? "SELECT entry_id, seq, ordinal, zeros FROM file_chunks ORDER BY entry_id, seq"
            : "SELECT entry_id, seq, ordinal, 0 FROM file_chunks ORDER BY entry_id, seq"
        let rows = try database.prepare(query)
        var lastEntry: Int64 = -1, expectedSeq: Int64 = 0
        var current: [Extent] = [], currentHasZeros = false
        func finish() {
            if currentHasZeros { extents.withZeros[lastEntry] = current }
            current.removeAll(keepingCapacity: true)
            currentHasZeros = false
        }
        while try rows.step() {
            let entry = rows.int64(0), seq = rows.int64(1), zeros = rows.int64(3)
            if entry != lastEntry { finish(); lastEntry = entry; expectedSeq = 0 }
            guard seq == expectedSeq else { throw ArchiveError(.damaged, "index: entry \(entry) refers to chunks out of order or out of range") }
            expectedSeq += 1
            if rows.isNull(2) {
                // A run of zero bytes (v2): never empty, never beside another run.
                guard zeros >= 1, current.last.map({ if case .zeros = $0 { false } else { true } }) ?? true else {
                    throw ArchiveError(.damaged, "index: entry \(entry) has an empty or split run of zeros")
                }
                current.append(.zeros(zeros))
                currentHasZeros = true
                continue
            }
            let ordinal = rows.int64(2)
            guard zeros == 0, ordinal >= 0, ordinal < Int64(chunkCount) else {
                throw ArchiveError(.damaged, "index: entry \(entry) refers to chunks out of order or out of range")
            }
            extents.owners.append(entry)
            extents.ordinals.append(Int(ordinal))
            current.append(.chunk(Int(ordinal)))
        }
        finish()
        return extents
    }

    /// The `xattrs` table (v2), by entry id, each entry's in name order.
    private func loadAttributes() throws -> [Int64: [ExtendedAttribute]] {
        var attributes: [Int64: [ExtendedAttribute]] = [:]
        let rows = try database.prepare("SELECT entry_id, name, value FROM xattrs ORDER BY entry_id, name")
        while try rows.step() {
            let entry = rows.int64(0), name = rows.blob(1), value = rows.blob(2)
            guard ExtendedAttributeName.isAllowed(name) else {
                throw ArchiveError(.unsafe, "index: entry \(entry) has an extended attribute of an unknown namespace: \(display(name))")
            }
            guard value.count <= ExtendedAttributeName.maxValue else {
                throw ArchiveError(.damaged, "index: entry \(entry) has an extended attribute over \(ExtendedAttributeName.maxValue) bytes")
            }
            attributes[entry, default: []].append(ExtendedAttribute(name: name, value: value))
        }
        return attributes
    }

    /// The `entries` table, in id order, checked against the chunks, extents and attributes.
    private func loadEntries(chunks: [ChunkRecord], extents: Extents, attributes: [Int64: [ExtendedAttribute]]) throws -> [Entry] {
        var entries: [Entry] = []
        let entryCount = try database.prepare("SELECT count(*) FROM entries")
        if try entryCount.step() { entries.reserveCapacity(Int(min(max(entryCount.int64(0), 0), 1 << 24))) }
        var seen: [[UInt8]: EntryKind] = [:]
        /// Every proper prefix of an entry so far: a later entry there must be a directory.
        var containing = Set<[UInt8]>()
        var fileSizes: [[UInt8]: Int64] = [:]
        var nextFrame = 0, nextReference = 0
        let v2Columns = version == .v2 ? ", user_name, group_name, dev_major, dev_minor" : ""
        let rows = try database.prepare("SELECT id, path, kind, mode, uid, gid, mtime_sec, mtime_nsec, size, target\(v2Columns) FROM entries ORDER BY id")
        while try rows.step() {
            let id = rows.int64(0), path = rows.blob(1)
            guard id == Int64(entries.count + 1) else { throw ArchiveError(.damaged, "index: entry ids are not 1, 2, 3, …") }
            try EntryPath.validate(path)
            guard let kind = EntryKind(rawValue: rows.int64(2)), version == .v2 || kind.rawValue <= EntryKind.hardLink.rawValue else {
                throw ArchiveError(.damaged, "index: \(display(path)) has unknown kind")
            }
            guard seen[path] == nil else { throw ArchiveError(.unsafe, "index: duplicate path \(display(path))") }
            // No entry may sit beneath a symlink or a file, whichever comes first (spec §9).
            let parents = EntryPath.parents(of: path)
            for prefix in parents where seen[prefix].map({ $0 != .directory }) ?? false {
                throw ArchiveError(.unsafe, "index: \(display(path)) lies beneath the non-directory \(display(prefix))")
            }
            if kind != .directory, containing.contains(path) {
                throw ArchiveError(.unsafe, "index: \(display(path)) is not a directory, but earlier entries lie beneath it")
            }
            let mode = rows.int64(3), uid = rows.int64(4), gid = rows.int64(5), nsec = rows.int64(7), size = rows.int64(8)
            guard (0...0o7777).contains(mode), (0...Int64(UInt32.max)).contains(uid), (0...Int64(UInt32.max)).contains(gid),
                  (0..<1_000_000_000).contains(nsec), size >= 0 else {
                throw ArchiveError(.damaged, "index: \(display(path)) has out-of-range metadata")
            }
            let target: [UInt8]? = rows.isNull(9) ? nil : rows.blob(9)
            // Both lists ascend, so a reference below this id names an entry that does not exist.
            if nextReference < extents.owners.count, extents.owners[nextReference] < id {
                throw ArchiveError(.damaged, "index: chunk references to entries that do not exist")
            }
            let firstReference = nextReference
            while nextReference < extents.owners.count, extents.owners[nextReference] == id { nextReference += 1 }
            let ordinals = extents.ordinals[firstReference..<nextReference]
            let withZeros = extents.withZeros[id]
            guard kind == .file || withZeros == nil else { throw ArchiveError(.damaged, "index: \(display(path)) has zero runs but is not a file") }
            let owners = version == .v2 ? try names(rows, path: path) : (nil, nil)
            let device = version == .v2 ? try deviceNumber(rows, path: path, kind: kind) : nil
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
                for extent in withZeros ?? [] {
                    if case .zeros(let count) = extent {
                        guard count <= Int64.max - total else { throw ArchiveError(.damaged, "index: \(display(path)) is too large") }
                        total += count
                    }
                }
                guard total == size else { throw ArchiveError(.damaged, "index: \(display(path)) declares \(size) bytes; its chunks hold \(total)") }
            case .hardLink:
                guard let target, seen[target] == .file, ordinals.isEmpty else {
                    throw ArchiveError(.unsafe, "index: hard link \(display(path)) does not name an earlier file of the archive")
                }
                guard fileSizes[target] == size, attributes[id] == nil else {
                    throw ArchiveError(.damaged, "index: hard link \(display(path)) disagrees with its file (size or attributes of its own)")
                }
            case .symlink:
                guard let target, !target.isEmpty, !target.contains(0), ordinals.isEmpty, size == 0 else {
                    throw ArchiveError(.damaged, "index: symlink \(display(path)) is malformed")
                }
            case .directory:
                guard target == nil, ordinals.isEmpty, size == 0 else { throw ArchiveError(.damaged, "index: directory \(display(path)) is malformed") }
            case .characterDevice, .blockDevice, .fifo:
                guard target == nil, ordinals.isEmpty, size == 0 else { throw ArchiveError(.damaged, "index: \(display(path)) is malformed") }
            }
            let entryAttributes = attributes[id] ?? []
            if kind != .directory, entryAttributes.contains(where: { $0.name.elementsEqual(ExtendedAttributeName.defaultACL) }) {
                throw ArchiveError(.damaged, "index: \(display(path)) has a default ACL but is not a directory")
            }
            seen[path] = kind
            containing.formUnion(parents)
            if kind == .file { fileSizes[path] = size }
            var entry = Entry(id: id, path: path, kind: kind, mode: UInt32(mode), uid: UInt32(uid), gid: UInt32(gid), mtimeSeconds: rows.int64(6),
                              mtimeNanoseconds: nsec, size: size, target: target, chunks: ordinals)
            (entry.userName, entry.groupName) = owners
            entry.device = device
            entry.extendedAttributes = entryAttributes
            entry.extents = withZeros
            entries.append(entry)
        }
        let exists = { (id: Int64) in id >= 1 && id <= Int64(entries.count) }
        guard nextReference == extents.owners.count, extents.withZeros.keys.allSatisfy(exists) else {
            throw ArchiveError(.damaged, "index: chunk references to entries that do not exist")
        }
        guard attributes.keys.allSatisfy(exists) else {
            throw ArchiveError(.damaged, "index: extended attributes of entries that do not exist")
        }
        guard nextFrame == chunks.count else { throw ArchiveError(.damaged, "index: \(chunks.count - nextFrame) frames are used by no file") }
        return entries
    }

    /// `user_name` and `group_name` (v2): NULL, or 1 to 255 bytes without NUL, `/` or newline.
    private func names(_ rows: Statement, path: [UInt8]) throws -> ([UInt8]?, [UInt8]?) {
        let user: [UInt8]? = rows.isNull(10) ? nil : rows.blob(10)
        let group: [UInt8]? = rows.isNull(11) ? nil : rows.blob(11)
        for name in [user, group].compactMap({ $0 }) where name.isEmpty || name.count > 255 || name.contains(where: { [0, 10, 47].contains($0) }) {
            throw ArchiveError(.damaged, "index: \(display(path)) has an invalid owner or group name")
        }
        return (user, group)
    }

    /// `dev_major` and `dev_minor` (v2): both set for devices, within 32 bits; NULL otherwise.
    private func deviceNumber(_ rows: Statement, path: [UInt8], kind: EntryKind) throws -> DeviceNumber? {
        let isDevice = kind == .characterDevice || kind == .blockDevice
        guard isDevice else {
            guard rows.isNull(12), rows.isNull(13) else { throw ArchiveError(.damaged, "index: \(display(path)) has device numbers but is no device") }
            return nil
        }
        let major = rows.int64(12), minor = rows.int64(13)
        guard !rows.isNull(12), !rows.isNull(13), (0...Int64(UInt32.max)).contains(major), (0...Int64(UInt32.max)).contains(minor) else {
            throw ArchiveError(.damaged, "index: device \(display(path)) has invalid device numbers")
        }
        return DeviceNumber(major: UInt32(major), minor: UInt32(minor))
    }
}

/// `sqlite_schema` rows (type, name, table, SQL text) in a stable order.
private func schemaObjects(_ database: Database) throws -> [[String?]] {
    let rows = try database.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")
    var objects: [[String?]] = []
    while try rows.step() { objects.append((0..<4).map { rows.text(Int32($0)) }) }
    return objects
}

/// The `sqlite_schema` rows of a database made from Formats/kseal-index-v<version>.sql.
private func expectedSchemaObjects(_ version: FormatVersion) throws -> [[String?]] {
    let reference = try Database.inMemory()
    try reference.execute(IndexSchema.sql(for: version))
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
