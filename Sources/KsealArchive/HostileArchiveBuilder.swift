import KsealCrypto

/// Builds correctly sealed archives around arbitrary index contents and frames, for tests and
/// fuzzing only: it models an attacker who holds the key. Not part of kseal's API.
@_spi(Testing)
public enum HostileArchiveBuilder {
    /// One frame as the attacker wants it: the bytes to seal, and what its index row (and so its
    /// AAD) claims about them.
    public struct Frame: Sendable {
        public var stored: [UInt8]
        public var compression: FrameCompression
        public var plainLength: Int
        public var sha256: [UInt8]

        public init(stored: [UInt8], compression: FrameCompression, plainLength: Int, sha256: [UInt8]) {
            self.stored = stored
            self.compression = compression
            self.plainLength = plainLength
            self.sha256 = sha256
        }

        /// An honest raw frame for `plain`.
        public static func raw(_ plain: [UInt8], backend: any CryptoBackend) throws -> Frame {
            Frame(stored: plain, compression: .raw, plainLength: plain.count, sha256: try backend.makeSHA256().digest(plain))
        }

        /// A zstd frame of `data` that claims to expand to `plainLength` bytes with hash `sha256`.
        public static func zstd(_ data: [UInt8], claiming plainLength: Int, sha256: [UInt8]) throws -> Frame {
            Frame(stored: try ZstdCompressor(level: 3).compress(data), compression: .zstd, plainLength: plainLength, sha256: sha256)
        }
    }

    /// A SQLite image: kseal's schema (unless `schema` is false) followed by `sql`, and a `chunks`
    /// row per frame unless `chunkRows` is false.
    public static func indexImage(sql: String, frames: [Frame], schema: Bool = true, chunkRows: Bool = true,
                                  version: FormatVersion) throws -> [UInt8] {
        let database = try Database.inMemory()
        if schema { try database.execute(IndexSchema.sql(for: version)) }
        if chunkRows {
            var offset = 0
            let insert = try database.prepare("INSERT INTO chunks VALUES (?,?,?,?,?,?)")
            for (ordinal, frame) in frames.enumerated() {
                try insert.run([.integer(Int64(ordinal)), .blob(frame.sha256), .integer(Int64(frame.plainLength)), .integer(Int64(frame.stored.count)),
                                .integer(Int64(frame.compression.rawValue)), .integer(Int64(offset))])
                offset += frame.stored.count + FormatV1.tagSize
            }
        }
        try database.execute(sql)
        let image = try database.serialized()
        return withExtendedLifetime(image) { Array(image.bytes) }
    }

    /// Seals `indexImage` and `frames` into a complete archive readable with `keyFile`.
    public static func archive(indexImage: [UInt8], frames: [Frame], keyFile: KeyFile, backend: any CryptoBackend,
                               chunkSize: Int = FormatV1.defaultChunkSize, version: FormatVersion) throws -> [UInt8] {
        let secrets = try ArchiveSecrets.fresh()
        let subkeys = try Subkeys(backend: backend, dataKey: secrets.dataKey, archiveID: secrets.archiveID, version: version)
        let compressed = try ZstdCompressor(level: 3).compress(indexImage)
        let framesLength = frames.reduce(0) { $0 + $1.stored.count + FormatV1.tagSize }
        let header = ArchiveHeader(archiveID: secrets.archiveID, keyCommitment: subkeys.commitment, chunkSize: UInt32(chunkSize), slotCount: 1,
                                   indexPlainLength: UInt64(indexImage.count), indexStoredLength: UInt64(compressed.count),
                                   frameCount: UInt64(frames.count), framesLength: UInt64(framesLength), version: version)
        let slot = try KeyFileSlot.wrap(dataKey: secrets.dataKey, keyFile: keyFile, header: header, slotIndex: 0, backend: backend)
        let front = header.encoded() + slot.encoded()
        var out = front + (try backend.makeHMACSHA256(key: subkeys.header).digest(front))
        let indexContext = try backend.aes256GCM(key: subkeys.index).makeContext()
        let segments = header.indexSegmentCount
        for segment in 0..<segments {
            let start = Int(segment) * chunkSize
            out += try indexContext.seal(Array(compressed[start..<min(start + chunkSize, compressed.count)]), nonce: counterNonce(segment),
                                         aad: indexAAD(version: version, archiveID: secrets.archiveID, segment: segment, segmentCount: segments))
        }
        let chunkContext = try backend.aes256GCM(key: subkeys.chunk).makeContext()
        for (ordinal, frame) in frames.enumerated() {
            let aad = frameAAD(version: version, archiveID: secrets.archiveID, ordinal: UInt64(ordinal), compression: frame.compression, plainLength: frame.plainLength,
                               storedLength: frame.stored.count, sha256: frame.sha256)
            out += try chunkContext.seal(frame.stored, nonce: counterNonce(UInt64(ordinal)), aad: aad)
        }
        return out + endMarker(framesLength: UInt64(framesLength))
    }
}
