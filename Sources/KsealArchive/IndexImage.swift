#if canImport(Glibc)
import Glibc
#endif

/// Bytes kept in memory up to a limit, and beyond it in an unnamed temporary file: a compressed
/// index, opened while its signature is checked or built during create, so that an index's size
/// is not memory's.
final class Spool {
    private let limit: Int
    private var memory: [UInt8] = []
    private var file: SystemFile?
    private(set) var count = 0

    init(limit: Int) { self.limit = limit }

    func append(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try append($0) } }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
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

    /// Calls `body` with the bytes in order, in pieces of `pieceSize` (the last one shorter).
    func read(pieceSize: Int = 256 << 10, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let file else {
            return try memory.withUnsafeBytes { all in
                for start in stride(from: 0, to: all.count, by: pieceSize) {
                    try body(UnsafeRawBufferPointer(rebasing: all[start..<min(start + pieceSize, all.count)]))
                }
            }
        }
        try file.readPieces(count: count, pieceSize: pieceSize, what: "a spool file") { piece, _ in try body(UnsafeRawBufferPointer(piece)) }
    }
}

/// Where an authenticated index image is decoded for SQLite (spec §8 step 6): up to
/// ``inMemoryLimit`` (256 KiB, about 1,200 files) in memory; beyond, streamed into a temporary file in `$TMPDIR`
/// (unlinked once SQLite has it open) that SQLite reads through its bounded page cache. So reading an archive takes
/// about the same memory whatever its number of files; the disk holds the index instead (about
/// 210 bytes a file), for as long as the archive is open.
enum IndexImage {
    static let inMemoryLimit = 256 << 10
    /// The window kseal compresses indexes with (log2 bytes): 128 KiB, whatever the level, so
    /// that reading a large index streams it through a 128 KiB window buffer instead of the
    /// level's (2 MiB at level 3, 8 MiB at 19), which was the peak of verify's memory. For
    /// 100,000 files, the 22.2 MB index compresses 4 % larger (11.13 MB against 10.69 MB), and
    /// verify's peak RSS is 0.85 MiB lower.
    static let writtenWindowLog: Int32 = 17

    /// The database of the index whose authenticated zstd frame is in `compressed`.
    static func open(_ compressed: Spool, plainLength: Int) throws -> Database {
        // 2^27: the spec's bound on the index window (§8 step 6).
        let decompressor = try ZstdDecompressor(windowLogMax: 27)
        if plainLength <= inMemoryLimit, let bytes = compressed.inMemory {
            return try Database.deserialize(count: plainLength) { image in
                try bytes.withUnsafeBytes { try decompressor.decompress($0, into: image, what: "index") }
            }
        }
        let scratch = try NamedScratchFile(in: ProcessEnvironment.temporaryDirectory)
        defer { scratch.unlink() }
        try decompressor.decompressStream(expected: plainLength, what: "index", input: { try compressed.read($0) },
                                          output: { try scratch.file.writeAll($0) })
        return try Database.open(imageAt: scratch.path)
    }
}
