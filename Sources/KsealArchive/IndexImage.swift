#if canImport(Glibc)
import Glibc
#endif

/// Bytes kept in memory up to a limit, and beyond it in an unnamed temporary file: the opened,
/// still compressed index while its signature is checked, so an index's size is not memory's.
final class Spool {
    private let limit: Int
    private var memory: [UInt8] = []
    private var file: SystemFile?
    private(set) var count = 0

    init(limit: Int) { self.limit = limit }

    func append(_ bytes: [UInt8]) throws {
        if file == nil, memory.count + bytes.count <= limit {
            memory += bytes
        } else {
            if file == nil {
                file = try unlinkedTemporaryFile(in: ProcessEnvironment.temporaryDirectory)
                try file!.writeAll(memory)
                memory = []
            }
            try file!.writeAll(bytes)
        }
        count += bytes.count
    }

    /// The bytes, when they are all in memory.
    var inMemory: [UInt8]? { file == nil ? memory : nil }

    /// Calls `body` with the bytes in order, a piece of at most `pieceSize` at a time.
    func read(pieceSize: Int = 256 << 10, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let file else { return try memory.withUnsafeBytes { try body($0) } }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pieceSize, alignment: 64)
        defer { buffer.deallocate() }
        var offset = 0
        while offset < count {
            let n = try file.pread(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(pieceSize, count - offset)]), at: Int64(offset))
            guard n > 0 else { throw ArchiveError(.io, "the index spool ended early (\(offset) of \(count) bytes)") }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += n
        }
    }
}

/// Where an authenticated index image is decoded for SQLite (spec §8 step 6): up to
/// ``inMemoryLimit`` (256 KiB, about 1,200 files) in memory; beyond, streamed into a temporary file in `$TMPDIR`
/// (unlinked once SQLite has it open) that SQLite reads through its bounded page cache. So reading an archive takes
/// about the same memory whatever its number of files; the disk holds the index instead (about
/// 210 bytes a file), for as long as the archive is open.
enum IndexImage {
    static let inMemoryLimit = 256 << 10

    /// The database of the index whose authenticated zstd frame is in `compressed`.
    static func open(_ compressed: Spool, plainLength: Int) throws -> Database {
        // 2^27: the spec's bound on the index window (§8 step 6).
        let decompressor = try ZstdDecompressor(windowLogMax: 27)
        if plainLength <= inMemoryLimit, let bytes = compressed.inMemory {
            return try Database.deserialize(count: plainLength) { image in
                try bytes.withUnsafeBytes { try decompressor.decompress($0, into: image, what: "index") }
            }
        }
        // A named file, because SQLite opens files by name (and resolves /proc/self/fd links to
        // the name of the deleted file); 0600, created exclusively, removed on a signal, and
        // unlinked as soon as SQLite has it open, so it outlives kseal only after a SIGKILL.
        let directory = ProcessEnvironment.temporaryDirectory
        let name = ".kseal-index-\(getpid())-\(TemporaryFiles.suffix())"
        let path = directory + "/" + name
        let parent = try SystemFile.open(directory, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let token = TemporaryFiles.register(path)
        defer {
            _ = unlink(path)
            TemporaryFiles.unregister(token)
        }
        let file = try SystemFile.open(at: parent, name: Array(name.utf8), flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: 0o600,
                                       shownAs: directory)
        try decompressor.decompressStream(expected: plainLength, what: "index", input: { try compressed.read($0) }, output: { try file.writeAll($0) })
        return try Database.open(imageAt: path)
    }
}
