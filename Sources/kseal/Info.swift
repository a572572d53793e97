import ArgumentParser
import KsealArchive

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an archive's format, cipher suite, sizes, chunk count and savings.",
        discussion: "Reads and authenticates the header and index only."
    )

    @OptionGroup var archive: ArchiveArgument
    @OptionGroup var key: KeyOptions
    @OptionGroup var cryptoOptions: CryptoOptions

    func run() throws {
        try Failure.guarding {
            let reader = try archive.open(key: key, crypto: cryptoOptions)
            let header = reader.header
            let entries = reader.index.entries
            let content = entries.filter { $0.kind == .file }.reduce(Int64(0)) { $0 + $1.size }
            let linked = entries.filter { $0.kind == .hardLink }.reduce(Int64(0)) { $0 + $1.size }
            let unique = reader.index.uniqueBytes
            let stored = reader.index.chunks.reduce(Int64(0)) { $0 + Int64($1.storedLength) }
            let compressedFrames = reader.index.chunks.filter { $0.compression == .zstd }.count
            let total = Int64(reader.frontLength) + Int64(header.framesLength) + Int64(FormatV1.endMarkerSize)
            func count(_ kind: EntryKind) -> Int { entries.filter { $0.kind == kind }.count }
            func percent(_ part: Int64, _ whole: Int64) -> String { whole == 0 ? "0.0%" : Text.printf("%.1f%%", Double(part) * 100 / Double(whole)) }
            let lines = [
                "format:        kseal archive v\(header.version.rawValue)",
                "cipher suite:  \(FormatV1.suiteAES256GCM) (AES-256-GCM, HKDF-SHA256, SHA-256 chunk hashes)",
                "compression:   zstd per chunk",
                "archive id:    \(header.archiveID.hexString)",
                "chunk size:    \(header.chunkSize) bytes",
                "key slots:     \(reader.slotKinds.count) (\(Text.slotKinds(reader.slotKinds))); slot \(reader.openedSlot) opened",
                "entries:       \(count(.file)) files, \(count(.directory)) directories, \(count(.symlink)) symlinks, \(count(.hardLink)) hard links"
                    + (header.version == .v1 ? "" : ", \(count(.characterDevice) + count(.blockDevice)) devices, \(count(.fifo)) FIFOs"),
                "content:       \(content) bytes in files (+\(linked) through hard links)",
                "chunks:        \(header.frameCount) stored (\(compressedFrames) compressed, \(Int(header.frameCount) - compressedFrames) raw)",
                "dedup:         \(unique) unique bytes; \(content - unique) bytes (\(percent(content - unique, content))) saved",
                "compression:   \(unique) → \(stored) bytes (\(percent(unique - stored, unique)) saved)",
                "index:         \(header.indexPlainLength) bytes, \(header.indexStoredLength) compressed",
                "archive size:  \(total) bytes",
            ]
            for line in lines { Console.print(line) }
        }
    }
}
