/// What an index entry is (spec §9, `entries.kind`).
public enum EntryKind: Int64, Sendable {
    case file = 1
    case directory = 2
    case symlink = 3
    case hardLink = 4
    /// Format v2.
    case characterDevice = 5
    case blockDevice = 6
    case fifo = 7
}

/// A device's numbers (format v2, `dev_major`, `dev_minor`).
public struct DeviceNumber: Sendable, Equatable {
    public let major: UInt32
    public let minor: UInt32
    public init(major: UInt32, minor: UInt32) { self.major = major; self.minor = minor }
}

/// An extended attribute as stored (format v2, `xattrs`): the full name and the raw value.
public struct ExtendedAttribute: Sendable, Equatable {
    public let name: [UInt8]
    public let value: [UInt8]
    public init(name: [UInt8], value: [UInt8]) { self.name = name; self.value = value }
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
    // Format v2; as below for v1 archives.
    /// The owner's and group's names on the writing host, if it had them.
    public var userName: [UInt8]? = nil
    public var groupName: [UInt8]? = nil
    /// Devices only.
    public var device: DeviceNumber? = nil
    public var extendedAttributes: [ExtendedAttribute] = []
    /// A file's chunks and zero runs in order, when it has zero runs (format v2); nil when its
    /// content is ``chunks`` alone.
    public var extents: [Extent]? = nil
}

extension Entry {
    /// The same entry under another path (and, for a hard link, target): `--strip-components`.
    func moved(to path: [UInt8], target: [UInt8]?) -> Entry {
        var entry = Entry(id: id, path: path, kind: kind, mode: mode, uid: uid, gid: gid, mtimeSeconds: mtimeSeconds,
                          mtimeNanoseconds: mtimeNanoseconds, size: size, target: target, chunks: chunks)
        entry.userName = userName
        entry.groupName = groupName
        entry.device = device
        entry.extendedAttributes = extendedAttributes
        entry.extents = extents
        return entry
    }
}

/// A piece of a file's content (format v2, `file_chunks`): a stored chunk, or a run of zeros.
public enum Extent: Sendable, Equatable {
    case chunk(Int)
    case zeros(Int64)
}

/// Which extended attributes an index may hold (format v2 §9).
enum ExtendedAttributeName {
    static let maxName = 255
    static let maxValue = 65536
    static let accessACL = Array("system.posix_acl_access".utf8)
    static let defaultACL = Array("system.posix_acl_default".utf8)
    private static let namespaces = ["user.", "trusted.", "security."].map { Array($0.utf8) }

    /// A name of a known namespace, 1 to 255 bytes, without NUL; an unknown namespace could mean
    /// anything to the target's kernel, so it is refused as unsafe.
    static func isAllowed(_ name: [UInt8]) -> Bool {
        guard !name.isEmpty, name.count <= maxName, !name.contains(0) else { return false }
        if name == accessACL || name == defaultACL { return true }
        return namespaces.contains { name.count > $0.count && name.starts(with: $0) }
    }
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

/// Totals of an index, found while it was validated.
public struct IndexSummary: Sendable {
    public var entries = 0
    public var files = 0, directories = 0, symlinks = 0, hardLinks = 0, devices = 0, fifos = 0
    /// Bytes in files, and bytes reached again through hard links.
    public var contentBytes: Int64 = 0, linkedBytes: Int64 = 0
    public var chunks = 0, compressedChunks = 0
    /// Plaintext bytes of all distinct chunks (what verify and extract decode), and their stored bytes.
    public var uniqueBytes: Int64 = 0, storedBytes: Int64 = 0
}

/// An authenticated, validated index (spec §9), read from its SQLite image as it is needed:
/// entries and chunks are streamed, never all held, so reading an archive takes the same memory
/// whatever its number of files. Validated once when loaded (``IndexLoader``); the image is
/// immutable, so later reads meet the same rows. One thread at a time: the SQLite connection is
/// not shared.
public final class ArchiveIndex: @unchecked Sendable {
    let database: Database
    let version: FormatVersion
    public let summary: IndexSummary
    /// Prepared once, on first use: a lookup may run per chunk or per hard link.
    private var chunkLookup: Statement?, pathLookup: Statement?, ordinalsLookup: Statement?

    init(database: Database, version: FormatVersion, summary: IndexSummary) {
        self.database = database
        self.version = version
        self.summary = summary
    }

    /// Plaintext bytes of all distinct chunks: what verify and extract decode.
    public var uniqueBytes: Int64 { summary.uniqueBytes }
    public var chunkCount: Int { summary.chunks }

    /// The entries in archive order, one at a time.
    public func entries() throws -> EntryCursor { try EntryCursor(database, version: version, chunkCount: summary.chunks) }

    /// Every entry at once. Memory grows with the archive: for tests and small archives.
    public func allEntries() throws -> [Entry] {
        let cursor = try entries()
        var all: [Entry] = []
        while let entry = try cursor.next() { all.append(entry) }
        return all
    }

    /// The chunk `ordinal` (0 ..< ``chunkCount``).
    public func chunk(_ ordinal: Int) throws -> ChunkRecord {
        let query = try prepared(&chunkLookup, "SELECT \(ChunkCursor.columns) FROM chunks WHERE ordinal = ?")
        try query.bind([.integer(Int64(ordinal))])
        defer { query.reset() }
        guard try query.step() else { throw ArchiveError(.internal, "index: no chunk \(ordinal)") }
        return ChunkCursor.record(query)
    }

    /// The chunks in ordinal order, one at a time.
    func chunks() throws -> ChunkCursor { try ChunkCursor(database) }

    /// Every chunk at once. Memory grows with the archive: for tests and small archives.
    public func allChunks() throws -> [ChunkRecord] {
        let cursor = try chunks()
        var all: [ChunkRecord] = []
        while let chunk = try cursor.next() { all.append(chunk) }
        return all
    }

    /// The id, kind and size of the entry at `path`, through the path index; the row found is
    /// checked to be that path, so an index that lies can hide a row but never substitute one.
    func lookUp(path: [UInt8]) throws -> (id: Int64, kind: EntryKind, size: Int64)? {
        let query = try prepared(&pathLookup, "SELECT id, kind, size, path FROM entries WHERE path = ?")
        try query.bind([.blob(path)])
        defer { query.reset() }
        guard try query.step(), query.blob(3) == path, let kind = EntryKind(rawValue: query.int64(1)) else { return nil }
        return (query.int64(0), kind, query.int64(2))
    }

    /// The chunk ordinals of the file entry `id`, in order.
    func chunkOrdinals(ofEntry id: Int64) throws -> [Int] {
        let query = try prepared(&ordinalsLookup, "SELECT ordinal FROM file_chunks WHERE entry_id = ? AND ordinal IS NOT NULL ORDER BY seq")
        try query.bind([.integer(id)])
        defer { query.reset() }
        var ordinals: [Int] = []
        while try query.step() { ordinals.append(Int(query.int64(0))) }
        return ordinals
    }

    /// `statement`, prepared from `sql` the first time.
    private func prepared(_ statement: inout Statement?, _ sql: String) throws -> Statement {
        if let statement { return statement }
        let made = try database.prepare(sql)
        statement = made
        return made
    }

    /// The paths hard links name (their files must be remembered while extracting).
    func hardLinkTargets() throws -> Set<[UInt8]> {
        let query = try database.prepare("SELECT DISTINCT target FROM entries WHERE kind = \(EntryKind.hardLink.rawValue)")
        var targets = Set<[UInt8]>()
        while try query.step() { targets.insert(query.blob(0)) }
        return targets
    }
}

/// The entries of an index in archive order, each with its chunks, zero runs and extended
/// attributes: three ordered scans (entries by id, `file_chunks` and `xattrs` by entry and
/// position) merged as they go, so only the current entry is in memory. Every row's own rules
/// are checked here (spec §9: extents in sequence, runs of zeros, chunk ordinals in range,
/// attribute names and sizes, and no rows for entries that do not exist); ``IndexLoader`` checks
/// the rest.
public final class EntryCursor {
    private let rows: Statement
    private let extents: Statement
    private let attributes: Statement?
    private let version: FormatVersion
    private let chunkCount: Int
    private var hasExtent: Bool
    private var hasAttribute: Bool
    /// The plaintext bytes of the chunks of the entry last returned (from `chunks`).
    private(set) var chunkBytes: Int64 = 0

    init(_ database: Database, version: FormatVersion, chunkCount: Int) throws {
        self.version = version
        self.chunkCount = chunkCount
        let v2Columns = version == .v2 ? ", user_name, group_name, dev_major, dev_minor" : ""
        // From entry ?1 on, through each table's primary key. A whole walk starts below every id,
        // so rows a hostile index gives ids under 1 are still met, and refused.
        rows = try database.prepare("SELECT id, path, kind, mode, uid, gid, mtime_sec, mtime_nsec, size, target\(v2Columns) FROM entries WHERE id >= ?1 ORDER BY id")
        let zeros = version == .v2 ? "f.zeros" : "0"
        extents = try database.prepare("SELECT f.entry_id, f.seq, f.ordinal, \(zeros), c.plain_length FROM file_chunks f "
            + "LEFT JOIN chunks c ON c.ordinal = f.ordinal WHERE f.entry_id >= ?1 ORDER BY f.entry_id, f.seq")
        attributes = version == .v2 ? try database.prepare("SELECT entry_id, name, value FROM xattrs WHERE entry_id >= ?1 ORDER BY entry_id, name") : nil
        hasExtent = false
        hasAttribute = false
        try seek(to: .min)
    }

    /// Starts the walk again at entry `id`: the next ``next()`` returns it, or the first entry
    /// after it. Extract reads each directory again this way when it sets their metadata last, so
    /// it keeps their ids, not their entries.
    func seek(to id: Int64) throws {
        for statement in [rows, extents] + (attributes.map { [$0] } ?? []) { try statement.bind([.integer(id)]) }
        hasExtent = try extents.step()
        hasAttribute = try attributes?.step() ?? false
    }

    /// The next entry, or nil after the last.
    /// - Throws: ``ArchiveError`` `.damaged` or `.unsafe` for rows that break their rules.
    public func next() throws -> Entry? {
        guard try rows.step() else {
            guard !hasExtent else { throw ArchiveError(.damaged, "index: chunk references to entries that do not exist") }
            guard !hasAttribute else { throw ArchiveError(.damaged, "index: extended attributes of entries that do not exist") }
            return nil
        }
        // Ids ascend (rowid order); IndexLoader checks they are 1, 2, 3, ….
        let id = rows.int64(0), path = rows.blob(1)
        guard let kind = EntryKind(rawValue: rows.int64(2)), version == .v2 || kind.rawValue <= EntryKind.hardLink.rawValue else {
            throw ArchiveError(.damaged, "index: \(display(path)) has unknown kind")
        }
        let (ordinals, extentList) = try takeExtents(of: id)
        var entry = Entry(id: id, path: path, kind: kind, mode: UInt32(truncatingIfNeeded: rows.int64(3)), uid: UInt32(truncatingIfNeeded: rows.int64(4)),
                          gid: UInt32(truncatingIfNeeded: rows.int64(5)), mtimeSeconds: rows.int64(6), mtimeNanoseconds: rows.int64(7),
                          size: rows.int64(8), target: rows.isNull(9) ? nil : rows.blob(9), chunks: ArraySlice(ordinals))
        entry.extents = extentList
        entry.extendedAttributes = try takeAttributes(of: id)
        if version == .v2 {
            entry.userName = rows.isNull(10) ? nil : rows.blob(10)
            entry.groupName = rows.isNull(11) ? nil : rows.blob(11)
            if !rows.isNull(12) || !rows.isNull(13) {
                entry.device = DeviceNumber(major: UInt32(truncatingIfNeeded: rows.int64(12)), minor: UInt32(truncatingIfNeeded: rows.int64(13)))
            }
        }
        return entry
    }

    /// The raw values the loader checks against their ranges before they are narrowed.
    var rawMetadata: (mode: Int64, uid: Int64, gid: Int64, nsec: Int64, size: Int64) {
        (rows.int64(3), rows.int64(4), rows.int64(5), rows.int64(7), rows.int64(8))
    }

    /// Whether the v2 device columns of the current row are NULL, and their raw values.
    var rawDevice: (major: Int64?, minor: Int64?) {
        guard version == .v2 else { return (nil, nil) }
        return (rows.isNull(12) ? nil : rows.int64(12), rows.isNull(13) ? nil : rows.int64(13))
    }

    /// The `file_chunks` rows of entry `id`: its chunk ordinals, and its whole extent list when
    /// it has runs of zeros (nil otherwise).
    private func takeExtents(of id: Int64) throws -> ([Int], [Extent]?) {
        if hasExtent, extents.int64(0) < id { throw ArchiveError(.damaged, "index: chunk references to entries that do not exist") }
        var ordinals: [Int] = [], list: [Extent] = [], hasZeros = false, expectedSeq: Int64 = 0
        chunkBytes = 0
        while hasExtent, extents.int64(0) == id {
            guard extents.int64(1) == expectedSeq else { throw ArchiveError(.damaged, "index: entry \(id) refers to chunks out of order or out of range") }
            expectedSeq += 1
            let zeros = extents.int64(3)
            if extents.isNull(2) {
                // A run of zero bytes (v2): never empty, never beside another run.
                guard zeros >= 1, list.last.map({ if case .zeros = $0 { false } else { true } }) ?? true else {
                    throw ArchiveError(.damaged, "index: entry \(id) has an empty or split run of zeros")
                }
                list.append(.zeros(zeros))
                hasZeros = true
            } else {
                let ordinal = extents.int64(2)
                guard zeros == 0, ordinal >= 0, ordinal < Int64(chunkCount), !extents.isNull(4) else {
                    throw ArchiveError(.damaged, "index: entry \(id) refers to chunks out of order or out of range")
                }
                ordinals.append(Int(ordinal))
                list.append(.chunk(Int(ordinal)))
                chunkBytes += extents.int64(4)
            }
            hasExtent = try extents.step()
        }
        return (ordinals, hasZeros ? list : nil)
    }

    /// The `xattrs` rows of entry `id` (v2), in name order.
    private func takeAttributes(of id: Int64) throws -> [ExtendedAttribute] {
        guard let attributes else { return [] }
        if hasAttribute, attributes.int64(0) < id { throw ArchiveError(.damaged, "index: extended attributes of entries that do not exist") }
        var list: [ExtendedAttribute] = []
        while hasAttribute, attributes.int64(0) == id {
            let name = attributes.blob(1), value = attributes.blob(2)
            guard ExtendedAttributeName.isAllowed(name) else {
                throw ArchiveError(.unsafe, "index: entry \(id) has an extended attribute of an unknown namespace: \(display(name))")
            }
            guard value.count <= ExtendedAttributeName.maxValue else {
                throw ArchiveError(.damaged, "index: entry \(id) has an extended attribute over \(ExtendedAttributeName.maxValue) bytes")
            }
            list.append(ExtendedAttribute(name: name, value: value))
            hasAttribute = try attributes.step()
        }
        return list
    }
}

/// The chunks of an index in ordinal order.
final class ChunkCursor {
    private let rows: Statement

    /// The columns ``record(_:)`` reads, in its order.
    static let columns = "plain_length, stored_length, compression, sha256, frame_offset"

    init(_ database: Database) throws {
        rows = try database.prepare("SELECT \(Self.columns) FROM chunks ORDER BY ordinal")
    }

    func next() throws -> ChunkRecord? {
        guard try rows.step() else { return nil }
        return Self.record(rows)
    }

    /// A validated row of ``columns``.
    static func record(_ row: Statement) -> ChunkRecord {
        let sha = row.blob(3)
        return ChunkRecord(plainLength: Int(row.int64(0)), storedLength: Int(row.int64(1)),
                           compression: FrameCompression(rawValue: UInt8(truncatingIfNeeded: row.int64(2))) ?? .raw,
                           digest: sha.withUnsafeBytes { ChunkDigest($0) }, frameOffset: row.int64(4))
    }
}
