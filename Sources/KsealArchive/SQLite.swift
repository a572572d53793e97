import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// SQLITE_TRANSIENT: SQLite copies bound values before the call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection, closed when the object goes away.
///
/// kseal only ever opens two kinds of database: a fresh one it builds during create (in a
/// scratch file), and an image of bytes that were authenticated first.
final class Database {
    private(set) var handle: OpaquePointer?
    /// The process's SQLite heap limit before this reader set its own, restored on close.
    private var previousHeapLimit: Int64?

    private init(handle: OpaquePointer) { self.handle = handle }
    deinit {
        sqlite3_close_v2(handle)
        if let previousHeapLimit { sqlite3_hard_heap_limit64(previousHeapLimit) }
    }

    /// What SQLite may use besides an authenticated image while reading it: the page cache
    /// (64 pages of at most 64 KiB), statements, and sorts, which spill to temporary files
    /// (temp_store = FILE) instead of growing in memory.
    static let readerHeapAllowance: Int64 = 8 << 20

    /// Sorts (the reader's path check) keep at most the page cache's size in memory before
    /// they spill to files, instead of SQLite's minimum of 250 pages (1 MiB of 4 KiB pages, the
    /// peak of verify and extract at 30,000 files and more). A process-wide setting that SQLite
    /// takes only before its first connection: where the host process opened SQLite first,
    /// sorts keep SQLite's default.
    private static let sortMemoryConfigured: Void = { _ = kseal_sqlite3_config_pmasz(16) }()

    /// One connection to `filename`, or `failure` with SQLite's code.
    private static func connect(_ filename: String, flags: Int32, failure: (Int32) -> ArchiveError) throws -> Database {
        _ = sortMemoryConfigured
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(filename, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            sqlite3_close_v2(handle)
            throw failure(rc)
        }
        return Database(handle: handle)
    }

    /// A new empty in-memory database.
    static func inMemory() throws -> Database {
        try connect(":memory:", flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY) {
            ArchiveError(.internal, "sqlite: cannot open an in-memory database (\($0))")
        }
    }

    /// Pages the index builder keeps in memory (KiB): beyond, SQLite writes them to its file.
    static let builderCacheKiB = 4096

    /// A new database in the empty file at `path`, for the index builder: no journal, no syncs
    /// (a failed create discards the file), no locks and a bounded page cache, so a large tree's
    /// index is on disk, not in memory. The file is open when this returns, so the caller may
    /// unlink it.
    ///
    /// No locks (`nolock=1`): the file is this process's alone, and SQLite's POSIX locks would
    /// conflict with the part-file `flock` kseal holds on it where the file system emulates
    /// `flock` with POSIX locks (NFS, 9p: "database is locked").
    static func build(at path: String) throws -> Database {
        let database = try connect("file:\(percentEncoded(path))?nolock=1", flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW) {
            ArchiveError(.io, "sqlite: cannot open the index being built, \(path) (\($0))")
        }
        for pragma in ["journal_mode = OFF", "synchronous = OFF", "cache_size = -\(builderCacheKiB)", "temp_store = FILE"] {
            try database.execute("PRAGMA " + pragma)
        }
        _ = try database.prepare("SELECT count(*) FROM sqlite_schema").step()
        return database
    }

    /// Opens an authenticated database image read-only, from memory: no file, no journal.
    ///
    /// The image is written straight into SQLite-owned memory by `fill`, so it exists once.
    /// - Parameters:
    ///   - count: the image size in bytes.
    ///   - fill: writes exactly `count` bytes of authenticated image into the buffer it is given.
    static func deserialize(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws -> Database {
        let database = try inMemory()
        guard let memory = sqlite3_malloc64(UInt64(max(count, 1))) else {
            throw ArchiveError(.internal, "sqlite: out of memory for an index of \(count) bytes")
        }
        do {
            try fill(UnsafeMutableRawBufferPointer(start: memory, count: count))
        } catch {
            sqlite3_free(memory)
            throw error
        }
        // From here SQLite owns the memory and frees it when the connection closes, even on failure.
        let flags = UInt32(SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY)
        let rc = sqlite3_deserialize(database.handle, "main", memory.assumingMemoryBound(to: UInt8.self), Int64(count), Int64(count), flags)
        guard rc == SQLITE_OK else { throw ArchiveError(.damaged, "index: SQLite refused the database image (\(rc))") }
        try database.configureReader()
        return database
    }

    /// Opens an authenticated database image read-only from a file kseal wrote (IndexImage):
    /// SQLite reads it through its page cache, so the image's size is not the process's.
    /// `immutable`: no locks, no journal, no change checks, as for a read-only medium; SQLite
    /// opens the file once, here, so the caller may unlink it at once.
    static func open(imageAt path: String) throws -> Database {
        let database = try connect("file:\(percentEncoded(path))?immutable=1", flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW) {
            ArchiveError(.io, "sqlite: cannot open the index image \(path) (\($0))")
        }
        // The first read opens the file (SQLite opens lazily): before the caller unlinks it.
        _ = try database.prepare("SELECT count(*) FROM sqlite_schema").step()
        try database.configureReader()
        return database
    }

    /// A path as a URI path: '%', '?' and '#' (and anything not printable ASCII) escaped.
    private static func percentEncoded(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            if byte > 0x20, byte < 0x7F, byte != UInt8(ascii: "%"), byte != UInt8(ascii: "?"), byte != UInt8(ascii: "#") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// What SQLite may do and use while reading an authenticated image.
    private func configureReader() throws {
        // A hostile but correctly sealed index must not make SQLite do anything unusual.
        _ = kseal_sqlite3_db_config_int(handle, SQLITE_DBCONFIG_DEFENSIVE, 1)
        _ = kseal_sqlite3_db_config_int(handle, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0)
        // 64 pages keep the B-tree interiors the index's ordered scans walk; sorts spill to
        // files; and a hard heap limit (what is in use, an in-memory image included, and 8 MiB)
        // turns anything more into an error (SQLITE_NOMEM, reported as such) instead of growth.
        // The limit is process-wide, so it is lifted again when this reader closes.
        try execute("PRAGMA cache_size = 64")
        try execute("PRAGMA temp_store = FILE")
        try execute("PRAGMA mmap_size = 0")
        try registerPathCollation()
        let current = sqlite3_hard_heap_limit64(-1)
        let limit = sqlite3_memory_used() + Self.readerHeapAllowance
        if current == 0 || limit > current {
            previousHeapLimit = current
            sqlite3_hard_heap_limit64(limit)
        }
    }

    /// `kseal_path`: paths byte by byte, with '/' before every other byte, so that in this
    /// order every entry's descendants follow it at once (spec §9's prefix rule is then checked
    /// in one ordered pass). For TEXT values; paths hold no NUL.
    private func registerPathCollation() throws {
        let rc = sqlite3_create_collation_v2(handle, "kseal_path", SQLITE_UTF8, nil, { _, count1, bytes1, count2, bytes2 in
            let a = UnsafeRawBufferPointer(start: bytes1, count: Int(count1)), b = UnsafeRawBufferPointer(start: bytes2, count: Int(count2))
            for i in 0..<min(a.count, b.count) where a[i] != b[i] {
                let x = a[i] == UInt8(ascii: "/") ? 0 : Int32(a[i]), y = b[i] == UInt8(ascii: "/") ? 0 : Int32(b[i])
                return x < y ? -1 : 1
            }
            return a.count == b.count ? 0 : a.count < b.count ? -1 : 1
        }, nil)
        guard rc == SQLITE_OK else { throw ArchiveError(.internal, "sqlite: cannot register a collation (\(rc))") }
    }

    /// The database image, as SQLite would write it to a file, in SQLite's own memory (no copy).
    func serialized() throws -> SQLiteImage {
        var size: Int64 = 0
        guard let pointer = sqlite3_serialize(handle, "main", &size, 0) else {
            throw ArchiveError(.internal, "sqlite: cannot serialize the index")
        }
        return SQLiteImage(UnsafeRawBufferPointer(start: pointer, count: Int(size)))
    }

    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "code \(rc)"
            sqlite3_free(message)
            throw ArchiveError(.internal, "sqlite: \(text)")
        }
    }

    func prepare(_ sql: String) throws -> Statement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw ArchiveError(.damaged, "index: cannot prepare query (\(String(cString: sqlite3_errmsg(handle))))")
        }
        return Statement(statement, database: self)
    }

    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }
}

/// A database image in memory SQLite allocated; freed with this object, so use `bytes` only
/// inside `withExtendedLifetime(image)`.
final class SQLiteImage {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    deinit { sqlite3_free(UnsafeMutableRawPointer(mutating: bytes.baseAddress)) }
}

/// A prepared statement, finalized when the object goes away.
final class Statement {
    private let statement: OpaquePointer
    private let database: Database

    init(_ statement: OpaquePointer, database: Database) {
        self.statement = statement
        self.database = database
    }

    deinit { sqlite3_finalize(statement) }

    /// Binds positional parameters (1-based), in order.
    func bind(_ values: [SQLValue]) throws {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .integer(let v): rc = sqlite3_bind_int64(statement, index, v)
            case .blob(let bytes):
                rc = bytes.withUnsafeBytes { sqlite3_bind_blob64(statement, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), UInt64($0.count), transient) }
            case .text(let s): rc = sqlite3_bind_text(statement, index, s, -1, transient)
            }
            guard rc == SQLITE_OK else { throw ArchiveError(.internal, "sqlite: bind failed: \(database.errorMessage)") }
        }
    }

    /// Runs an insert or update to completion.
    func run(_ values: [SQLValue]) throws {
        try bind(values)
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_DONE else { throw ArchiveError(.internal, "sqlite: \(database.errorMessage)") }
    }

    /// Steps a query; true while a row is available.
    /// - Throws: ``ArchiveError`` `.io` when the image cannot be read, `.internal` when SQLite hits
    ///   its memory limit, `.damaged` otherwise (a malformed image).
    func step() throws -> Bool {
        let rc = sqlite3_step(statement)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case SQLITE_NOMEM: throw ArchiveError(.internal, "index: SQLite reached its memory limit (\(Database.readerHeapAllowance >> 20) MiB beyond the index)")
        case _ where rc & 0xFF == SQLITE_IOERR: throw ArchiveError(.io, "index: cannot read the index image: \(database.errorMessage)")
        default: throw ArchiveError(.damaged, "index: query failed: \(database.errorMessage)")
        }
    }

    /// Ends the current use, so the statement can run again (bindings kept).
    func reset() { sqlite3_reset(statement) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(statement, column) else { return nil }
        return String(cString: pointer)
    }
}

enum SQLValue {
    case null
    case integer(Int64)
    case blob([UInt8])
    case text(String)
}
