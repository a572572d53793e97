import CSQLite

/// SQLITE_TRANSIENT: SQLite copies bound values before the call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection, closed when the object goes away.
///
/// kseal only ever opens two kinds of database: a fresh in-memory one it builds during create,
/// and one deserialized from bytes that were authenticated first.
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

    /// A new empty in-memory database.
    static func inMemory() throws -> Database {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(":memory:", &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            sqlite3_close_v2(handle)
            throw ArchiveError(.internal, "sqlite: cannot open an in-memory database (\(rc))")
        }
        return Database(handle: handle)
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
        // A hostile but correctly sealed index must not make SQLite do anything unusual.
        _ = kseal_sqlite3_db_config_int(database.handle, SQLITE_DBCONFIG_DEFENSIVE, 1)
        _ = kseal_sqlite3_db_config_int(database.handle, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0)
        // The image is already in memory: a page cache would only copy it again. 64 pages keep
        // the B-tree interiors the index's ordered scans walk; sorts spill to files; and a hard
        // heap limit (the image, what is in use, and 8 MiB) turns anything more into an error
        // (SQLITE_NOMEM, reported as such) instead of growth. The limit is process-wide, so
        // it is lifted again when this reader closes.
        try database.execute("PRAGMA cache_size = 64")
        try database.execute("PRAGMA temp_store = FILE")
        let current = sqlite3_hard_heap_limit64(-1)
        let limit = sqlite3_memory_used() + readerHeapAllowance
        if current == 0 || limit > current {
            database.previousHeapLimit = current
            sqlite3_hard_heap_limit64(limit)
        }
        return database
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

/// A prepared statement, finalized when the object goes away.
/// A database image in memory SQLite allocated; freed with this object, so use `bytes` only
/// inside `withExtendedLifetime(image)`.
final class SQLiteImage {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    deinit { sqlite3_free(UnsafeMutableRawPointer(mutating: bytes.baseAddress)) }
}

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
    func step() throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw ArchiveError(.damaged, "index: query failed: \(database.errorMessage)")
        }
    }

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
