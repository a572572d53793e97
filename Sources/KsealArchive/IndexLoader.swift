extension ArchiveIndex {
    /// Loads and validates the index against the authenticated header (see ``IndexLoader``).
    /// - Throws: ``ArchiveError`` `.damaged` (inconsistent) or `.unsafe` (hostile paths or links).
    static func load(_ database: Database, header: ArchiveHeader) throws -> ArchiveIndex {
        try IndexLoader(database: database, header: header).load()
    }
}

/// Checks every rule of spec §9 on an authenticated index image, once, so nothing downstream
/// meets an inconsistent or hostile index: identity and schema, storage types, the chunks, the
/// entries with their extents and attributes (``EntryCursor``), then the paths against each
/// other. Every stage is an ordered scan that holds one row (and, for the paths, the chain of
/// one path's ancestors), never the index: validation takes the same memory for any number of
/// files. Nothing relies on the image's own SQL indexes except the hard-link lookup, whose
/// result is checked against its row.
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
        var summary = try checkChunks()
        try checkEntries(&summary)
        try checkPaths()
        return ArchiveIndex(database: database, version: version, summary: summary)
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
    private func checkChunks() throws -> IndexSummary {
        var summary = IndexSummary()
        let rows = try database.prepare("SELECT ordinal, sha256, plain_length, stored_length, compression, frame_offset FROM chunks ORDER BY ordinal")
        var offset: Int64 = 0
        let chunkSize = Int64(header.chunkSize)
        while try rows.step() {
            let ordinal = rows.int64(0), plain = rows.int64(2), stored = rows.int64(3)
            guard ordinal == Int64(summary.chunks) else { throw ArchiveError(.damaged, "index: chunk ordinals are not 0, 1, 2, …") }
            let compressionValue = rows.int64(4)
            guard (0...1).contains(compressionValue), let compression = FrameCompression(rawValue: UInt8(compressionValue)) else {
                throw ArchiveError(.damaged, "index: chunk \(ordinal) has unknown compression")
            }
            guard rows.blob(1).count == 32, plain >= 1, plain <= chunkSize, stored >= 1, stored <= chunkSize,
                  compression == .zstd || stored == plain, rows.int64(5) == offset else {
                throw ArchiveError(.damaged, "index: chunk \(ordinal) has inconsistent lengths or offset")
            }
            summary.chunks += 1
            summary.uniqueBytes += plain
            summary.storedBytes += stored
            if compression == .zstd { summary.compressedChunks += 1 }
            offset += stored + Int64(FormatV1.tagSize)
        }
        guard UInt64(summary.chunks) == header.frameCount, UInt64(offset) == header.framesLength else {
            throw ArchiveError(.damaged, "index lists \(summary.chunks) frames of \(offset) bytes; the header says \(header.frameCount) of \(header.framesLength)")
        }
        return summary
    }

    /// The entries in id order, each against its own rules, its chunks, extents and attributes
    /// (the cursor checks those rows), and the frames' order of first use.
    private func checkEntries(_ summary: inout IndexSummary) throws {
        let cursor = try EntryCursor(database, version: version, chunkCount: summary.chunks)
        let lookups = ArchiveIndex(database: database, version: version, summary: summary)
        var nextFrame = 0
        while let entry = try cursor.next() {
            let path = entry.path
            guard entry.id == Int64(summary.entries + 1) else { throw ArchiveError(.damaged, "index: entry ids are not 1, 2, 3, …") }
            try EntryPath.validate(path)
            let raw = cursor.rawMetadata
            guard (0...0o7777).contains(raw.mode), (0...Int64(UInt32.max)).contains(raw.uid), (0...Int64(UInt32.max)).contains(raw.gid),
                  (0..<1_000_000_000).contains(raw.nsec), raw.size >= 0 else {
                throw ArchiveError(.damaged, "index: \(display(path)) has out-of-range metadata")
            }
            guard entry.kind == .file || entry.extents == nil else { throw ArchiveError(.damaged, "index: \(display(path)) has zero runs but is not a file") }
            if version == .v2 {
                try checkNames(entry)
                try checkDevice(cursor.rawDevice, entry)
            }
            let target = entry.target
            switch entry.kind {
            case .file:
                guard target == nil else { throw ArchiveError(.damaged, "index: file \(display(path)) has a link target") }
                for ordinal in entry.chunks {
                    // Frames appear in the order of their first use (spec §6), so a streaming reader
                    // always has each frame's bytes before, or exactly when, they are needed.
                    if ordinal == nextFrame { nextFrame += 1 } else if ordinal > nextFrame {
                        throw ArchiveError(.damaged, "index: \(display(path)) uses frame \(ordinal) before frame \(nextFrame)")
                    }
                }
                var total = cursor.chunkBytes
                for extent in entry.extents ?? [] {
                    if case .zeros(let count) = extent {
                        guard count <= Int64.max - total else { throw ArchiveError(.damaged, "index: \(display(path)) is too large") }
                        total += count
                    }
                }
                guard total == entry.size else { throw ArchiveError(.damaged, "index: \(display(path)) declares \(entry.size) bytes; its chunks hold \(total)") }
                summary.files += 1
                summary.contentBytes += entry.size
            case .hardLink:
                guard let target, entry.chunks.isEmpty, let file = try lookups.lookUp(path: target), file.kind == .file, file.id < entry.id else {
                    throw ArchiveError(.unsafe, "index: hard link \(display(path)) does not name an earlier file of the archive")
                }
                guard file.size == entry.size, entry.extendedAttributes.isEmpty else {
                    throw ArchiveError(.damaged, "index: hard link \(display(path)) disagrees with its file (size or attributes of its own)")
                }
                summary.hardLinks += 1
                summary.linkedBytes += entry.size
            case .symlink:
                guard let target, !target.isEmpty, !target.contains(0), entry.chunks.isEmpty, entry.size == 0 else {
                    throw ArchiveError(.damaged, "index: symlink \(display(path)) is malformed")
                }
                summary.symlinks += 1
            case .directory:
                guard target == nil, entry.chunks.isEmpty, entry.size == 0 else { throw ArchiveError(.damaged, "index: directory \(display(path)) is malformed") }
                summary.directories += 1
            case .characterDevice, .blockDevice, .fifo:
                guard target == nil, entry.chunks.isEmpty, entry.size == 0 else { throw ArchiveError(.damaged, "index: \(display(path)) is malformed") }
                if entry.kind == .fifo { summary.fifos += 1 } else { summary.devices += 1 }
            }
            if entry.kind != .directory, entry.extendedAttributes.contains(where: { $0.name.elementsEqual(ExtendedAttributeName.defaultACL) }) {
                throw ArchiveError(.damaged, "index: \(display(path)) has a default ACL but is not a directory")
            }
            summary.entries += 1
        }
        guard nextFrame == summary.chunks else { throw ArchiveError(.damaged, "index: \(summary.chunks - nextFrame) frames are used by no file") }
    }

    /// The paths against each other (spec §9): no two alike, and none beneath a non-directory,
    /// whichever comes first. One pass over the paths sorted with '/' before every other byte
    /// (the `kseal_path` collation; SQLite sorts in bounded memory, spilling to files), in which
    /// every path's descendants follow it at once: only the current chain of ancestors is held.
    private func checkPaths() throws {
        let rows = try database.prepare("SELECT CAST(path AS TEXT) AS p, kind FROM entries NOT INDEXED ORDER BY p COLLATE kseal_path")
        var previous: [UInt8]?
        /// The ancestors of `previous` that are entries, and `previous` itself: (length, kind).
        var chain: [(length: Int, kind: Int64)] = []
        while try rows.step() {
            let path = rows.blob(0), kind = rows.int64(1)
            if let previous {
                guard path != previous else { throw ArchiveError(.unsafe, "index: duplicate path \(display(path))") }
                while let top = chain.last, !(path.count > top.length && path[top.length] == UInt8(ascii: "/") && path.starts(with: previous[0..<top.length])) {
                    chain.removeLast()
                }
                if let top = chain.last, top.kind != EntryKind.directory.rawValue {
                    throw ArchiveError(.unsafe, "index: \(display(path)) lies beneath the non-directory \(display(Array(previous[0..<top.length])))")
                }
            }
            chain.append((path.count, kind))
            previous = path
        }
    }

    /// `user_name` and `group_name` (v2): NULL, or 1 to 255 bytes without NUL, `/` or newline.
    private func checkNames(_ entry: Entry) throws {
        for name in [entry.userName, entry.groupName].compactMap({ $0 }) where name.isEmpty || name.count > 255 || name.contains(where: { [0, 10, 47].contains($0) }) {
            throw ArchiveError(.damaged, "index: \(display(entry.path)) has an invalid owner or group name")
        }
    }

    /// `dev_major` and `dev_minor` (v2): both set for devices, within 32 bits; NULL otherwise.
    private func checkDevice(_ raw: (major: Int64?, minor: Int64?), _ entry: Entry) throws {
        guard entry.kind == .characterDevice || entry.kind == .blockDevice else {
            guard raw.major == nil, raw.minor == nil else { throw ArchiveError(.damaged, "index: \(display(entry.path)) has device numbers but is no device") }
            return
        }
        guard let major = raw.major, let minor = raw.minor, (0...Int64(UInt32.max)).contains(major), (0...Int64(UInt32.max)).contains(minor) else {
            throw ArchiveError(.damaged, "index: device \(display(entry.path)) has invalid device numbers")
        }
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
