import KsealArchive

/// `info`: format, cipher suite, sizes, chunk count and savings, from the authenticated front.
public enum InfoCommand {
    public static func run(_ input: ReaderInput, json: Bool) throws {
        let reader = try input.open()
        let header = reader.header
        let summary = reader.index.summary
        let content = summary.contentBytes, linked = summary.linkedBytes
        let unique = summary.uniqueBytes, stored = summary.storedBytes
        let compressedFrames = summary.compressedChunks
        let total = Int64(reader.frontLength) + Int64(header.framesLength) + Int64(FormatV1.endMarkerSize)
        func percent(_ part: Int64, _ whole: Int64) -> String { whole == 0 ? "0.0%" : Text.printf("%.1f%%", Double(part) * 100 / Double(whole)) }
        if json {
            let slots: [JSON.Value] = reader.slotKinds.enumerated().map { index, kind in
                .object([("index", .int(Int64(index))), ("kind", .string(Text.slotKinds([kind]))), ("opened", .bool(index == reader.openedSlot))])
            }
            Console.print(JSON.encode(.object([
                ("format", .int(Int64(header.version.rawValue))), ("cipher_suite", .int(Int64(FormatV1.suiteAES256GCM))),
                ("archive_id", .string(header.archiveID.hexString)), ("chunk_size", .int(Int64(header.chunkSize))),
                ("key_slots", .array(slots)), ("signature", JSON.signature(reader)), ("backend", .string(reader.backend.kind.rawValue)),
                ("files", .int(Int64(summary.files))), ("directories", .int(Int64(summary.directories))), ("symlinks", .int(Int64(summary.symlinks))),
                ("hard_links", .int(Int64(summary.hardLinks))), ("devices", .int(Int64(summary.devices))),
                ("fifos", .int(Int64(summary.fifos))), ("content_bytes", .int(content)), ("unique_bytes", .int(unique)),
                ("stored_bytes", .int(stored)), ("chunks", .int(Int64(header.frameCount))), ("compressed_chunks", .int(Int64(compressedFrames))),
                ("index_bytes", .int(Int64(header.indexPlainLength))), ("index_stored_bytes", .int(Int64(header.indexStoredLength))),
                ("archive_bytes", .int(total)),
            ])))
            return
        }
        let lines = [
            "format:        kseal archive v\(header.version.rawValue)",
            "cipher suite:  \(FormatV1.suiteAES256GCM) (AES-256-GCM, HKDF-SHA256, SHA-256 chunk hashes)",
            "compression:   zstd per chunk",
            "archive id:    \(header.archiveID.hexString)",
            "chunk size:    \(header.chunkSize) bytes",
            "key slots:     \(reader.slotKinds.count) (\(Text.slotKinds(reader.slotKinds))); slot \(reader.openedSlot) opened",
            "signature:     \(ReaderInput.signature(of: reader))",
            "entries:       \(summary.files) files, \(summary.directories) directories, \(summary.symlinks) symlinks, \(summary.hardLinks) hard links"
                + (header.version == .v1 ? "" : ", \(summary.devices) devices, \(summary.fifos) FIFOs"),
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
