// The on-disk layout of kseal archive format v1. This file mirrors Formats/kseal-archive-v1.md
// section by section; change neither without the other, the format version and the vectors.

/// Format constants (spec §2).
public enum FormatV1 {
    public static let magic: [UInt8] = [0x4B, 0x53, 0x45, 0x41, 0x4C, 0x00, 0x0D, 0x0A]  // "KSEAL\0\r\n"
    /// Suite 1: AES-256-GCM, HKDF-SHA256, SHA-256.
    public static let suiteAES256GCM: UInt8 = 1
    /// Compression 1: zstd.
    public static let compressionZstd: UInt8 = 1
    public static let headerSize = 128
    public static let macSize = 32
    public static let tagSize = 16
    public static let endMarkerSize = 16
    public static let endMagic: [UInt8] = Array("KSEALEND".utf8)
    /// Chunk sizes are powers of two in this range; the largest keeps one frame (AAD + chunk + tag)
    /// inside one AF_ALG operation with the kernel's default socket buffers (212992 bytes, of which
    /// the receive side may use all but a page).
    public static let minChunkSize = 4096
    public static let maxChunkSize = 131_072
    public static let defaultChunkSize = 131_072
    public static let maxSlots = 64
    public static let maxSlotBody = 4096
    /// Readers refuse larger indexes: the whole index is held in memory.
    public static let maxIndexPlainLength: UInt64 = 256 << 20
    public static let frameAADSize = 88
    public static let indexAADSize = 56
}

/// Frame compression (spec §7).
public enum FrameCompression: UInt8, Sendable {
    case raw = 0
    case zstd = 1
}

/// Key slot kinds (spec §4).
public enum KeySlotKind: UInt16, Sendable {
    /// A removed slot (`rekey --remove-slot`): empty, skipped; the others keep their indexes,
    /// which their AADs bind.
    case free = 0
    case keyFile = 1
    /// Format 2: a passphrase through scrypt (spec §4.5).
    case passphrase = 2
}

/// The format versions kseal reads (spec §2, `version`); it writes ``written``.
public enum FormatVersion: UInt16, Sendable, CaseIterable {
    case v1 = 1
    /// Formats/kseal-archive-v2.md: v1 and extended attributes, devices, FIFOs, owner names, holes.
    case v2 = 2
    /// What create writes unless told otherwise (`create --format 1` writes v1 for older readers).
    public static let written = FormatVersion.v2

    /// The HKDF labels and slot AAD prefix of this version (spec §3): `kseal/vN/…`, so no key of
    /// one version can serve another.
    var labels: Labels { Labels(self) }
}

/// HKDF labels (spec §3).
struct Labels {
    let keyFileSlot, slotAAD, chunk, index, header, commit: [UInt8]

    init(_ version: FormatVersion) {
        let prefix = "kseal/v\(version.rawValue)/"
        keyFileSlot = Array((prefix + "slot/key-file").utf8)
        slotAAD = Array((prefix + "slot").utf8)
        chunk = Array((prefix + "chunk").utf8)
        index = Array((prefix + "index").utf8)
        header = Array((prefix + "header").utf8)
        commit = Array((prefix + "commit").utf8)
    }
}

/// The fixed 128-byte header (spec §2).
public struct ArchiveHeader: Equatable, Sendable {
    public var archiveID: [UInt8]
    public var keyCommitment: [UInt8]
    public var chunkSize: UInt32
    public var slotCount: UInt16
    public var indexPlainLength: UInt64
    public var indexStoredLength: UInt64
    public var frameCount: UInt64
    public var framesLength: UInt64
    public var version = FormatVersion.written
    /// Header flag bit 0 (format 2): a signature record follows the sealed index (spec §4.4).
    public var isSigned = false
    static let signedFlag: UInt32 = 1

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: FormatV1.headerSize)
        w.append(FormatV1.magic)
        w.append(le: version.rawValue)
        w.append(FormatV1.suiteAES256GCM)
        w.append(FormatV1.compressionZstd)
        w.append(le: isSigned ? Self.signedFlag : 0)
        w.append(archiveID)
        w.append(keyCommitment)
        w.append(le: chunkSize)
        w.append(le: slotCount)
        w.append(le: UInt16(0))
        w.append(le: indexPlainLength)
        w.append(le: indexStoredLength)
        w.append(le: frameCount)
        w.append(le: framesLength)
        w.append(le: UInt64(0))
        precondition(w.bytes.count == FormatV1.headerSize)
        return w.bytes
    }

    /// Parses and sanity-checks a header. Nothing here is authenticated yet: the values only
    /// bound what the reader will read until the header MAC verifies (spec §8 steps 1–2).
    /// - Throws: ``ArchiveError`` `.damaged` (not kseal, inconsistent) or `.unsupported`.
    public static func decode(_ bytes: [UInt8]) throws -> ArchiveHeader {
        guard bytes.count == FormatV1.headerSize else { throw ArchiveError(.damaged, "truncated header: \(bytes.count) of \(FormatV1.headerSize) bytes") }
        var r = ByteReader(bytes)
        guard r.take(8) == FormatV1.magic else { throw ArchiveError(.damaged, "not a kseal archive (bad magic)") }
        let versionNumber: UInt16 = r.le()
        guard let version = FormatVersion(rawValue: versionNumber) else {
            throw ArchiveError(.unsupported, "archive format version \(versionNumber); this kseal reads versions 1 and 2")
        }
        let suite: UInt8 = r.le()
        guard suite == FormatV1.suiteAES256GCM else { throw ArchiveError(.unsupported, "unknown cipher suite \(suite)") }
        let compression: UInt8 = r.le()
        guard compression == FormatV1.compressionZstd else { throw ArchiveError(.unsupported, "unknown compression \(compression)") }
        let flags: UInt32 = r.le()
        let known = version == .v1 ? 0 : signedFlag
        guard flags & ~known == 0 else { throw ArchiveError(.unsupported, "unknown header flags 0x\(String(flags, radix: 16))") }
        let archiveID = r.take(32), keyCommitment = r.take(32)
        let chunkSize: UInt32 = r.le(), slotCount: UInt16 = r.le(), reserved16: UInt16 = r.le()
        var header = ArchiveHeader(archiveID: archiveID, keyCommitment: keyCommitment, chunkSize: chunkSize, slotCount: slotCount,
                                   indexPlainLength: r.le(), indexStoredLength: r.le(), frameCount: r.le(), framesLength: r.le(),
                                   version: version)
        header.isSigned = flags & signedFlag != 0
        let reserved64: UInt64 = r.le()
        guard reserved16 == 0, reserved64 == 0 else { throw ArchiveError(.damaged, "header: reserved bytes are not zero") }
        let chunk = Int(header.chunkSize)
        guard chunk >= FormatV1.minChunkSize, chunk <= FormatV1.maxChunkSize, chunk & (chunk - 1) == 0 else {
            throw ArchiveError(.damaged, "header: invalid chunk size \(chunk)")
        }
        guard header.slotCount >= 1, Int(header.slotCount) <= FormatV1.maxSlots else {
            throw ArchiveError(.damaged, "header: invalid key slot count \(header.slotCount)")
        }
        guard header.indexPlainLength > 0, header.indexPlainLength <= FormatV1.maxIndexPlainLength else {
            throw ArchiveError(.damaged, "header: index of \(header.indexPlainLength) bytes is out of bounds")
        }
        guard header.indexStoredLength > 0, header.indexStoredLength <= ZstdCompressor.boundU64(header.indexPlainLength) else {
            throw ArchiveError(.damaged, "header: compressed index of \(header.indexStoredLength) bytes is out of bounds")
        }
        let maxFrame = UInt64(chunk + FormatV1.tagSize)
        let (largest, overflow) = header.frameCount.multipliedReportingOverflow(by: maxFrame)
        guard header.frameCount <= header.framesLength / UInt64(FormatV1.tagSize), overflow || header.framesLength <= largest else {
            throw ArchiveError(.damaged, "header: \(header.frameCount) frames cannot fill \(header.framesLength) bytes")
        }
        return header
    }

    /// The first 48 bytes (magic … archive id), bound into every key slot (spec §4).
    var slotBinding: [UInt8] { Array(encoded()[0..<48]) }

    /// Number of sealed index segments (spec §5).
    var indexSegmentCount: UInt64 { (indexStoredLength + UInt64(chunkSize) - 1) / UInt64(chunkSize) }

    /// Total bytes of sealed index segments.
    var indexSealedLength: UInt64 { indexStoredLength + indexSegmentCount * UInt64(FormatV1.tagSize) }
}

/// One key slot record (spec §4): kind, body length, body.
public struct KeySlot: Equatable, Sendable {
    public var kind: UInt16
    public var body: [UInt8]

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 4 + body.count)
        w.append(le: kind)
        w.append(le: UInt16(body.count))
        w.append(body)
        return w.bytes
    }
}

/// 96-bit big-endian nonce from a counter (spec §3).
func counterNonce(_ n: UInt64) -> [UInt8] {
    var nonce = [UInt8](repeating: 0, count: 12)
    for i in 0..<8 { nonce[4 + i] = UInt8(truncatingIfNeeded: n >> (56 - 8 * UInt64(i))) }
    return nonce
}

/// The key-slot AAD (spec §4).
func slotAAD(header: ArchiveHeader, slotIndex: UInt16, kind: UInt16) -> [UInt8] {
    var w = ByteWriter(capacity: 80)
    w.append(header.version.labels.slotAAD)
    w.append(header.slotBinding)
    w.append(le: slotIndex)
    w.append(le: kind)
    return w.bytes
}

/// The frame AAD (spec §6): binds version, suite, compression, archive, ordinal, lengths and hash.
func frameAAD(version: FormatVersion, archiveID: [UInt8], ordinal: UInt64, compression: FrameCompression, plainLength: Int, storedLength: Int,
              sha256: [UInt8]) -> [UInt8] {
    var w = ByteWriter(capacity: FormatV1.frameAADSize)
    w.append(Array("KSFR".utf8))
    w.append(le: version.rawValue)
    w.append(FormatV1.suiteAES256GCM)
    w.append(compression.rawValue)
    w.append(archiveID)
    w.append(le: ordinal)
    w.append(le: UInt32(plainLength))
    w.append(le: UInt32(storedLength))
    w.append(sha256)
    return w.bytes
}

/// The index segment AAD (spec §5).
func indexAAD(version: FormatVersion, archiveID: [UInt8], segment: UInt64, segmentCount: UInt64) -> [UInt8] {
    var w = ByteWriter(capacity: FormatV1.indexAADSize)
    w.append(Array("KSIX".utf8))
    w.append(le: version.rawValue)
    w.append(FormatV1.suiteAES256GCM)
    w.append(FormatV1.compressionZstd)
    w.append(archiveID)
    w.append(le: segment)
    w.append(le: segmentCount)
    return w.bytes
}

/// The 16-byte end marker (spec §7).
func endMarker(framesLength: UInt64) -> [UInt8] {
    var w = ByteWriter(capacity: FormatV1.endMarkerSize)
    w.append(FormatV1.endMagic)
    w.append(le: framesLength)
    return w.bytes
}

struct ByteWriter {
    var bytes: [UInt8]
    init(capacity: Int) { bytes = []; bytes.reserveCapacity(capacity) }
    mutating func append(_ b: UInt8) { bytes.append(b) }
    mutating func append(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func append<T: FixedWidthInteger>(le value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    mutating func take(_ n: Int) -> [UInt8] {
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
    mutating func le<T: FixedWidthInteger>() -> T {
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[offset..<offset + MemoryLayout<T>.size]) }
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }
}

/// Compares secrets without an early exit.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<a.count { difference |= a[i] ^ b[i] }
    return difference == 0
}

extension ZstdCompressor {
    static func boundU64(_ size: UInt64) -> UInt64 { size + size / 128 + 1024 }
}
