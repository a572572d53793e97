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

/// An authenticated, validated index, loaded for reading (spec §9).
public struct ArchiveIndex: Sendable {
    public let entries: [Entry]
    public let chunks: [ChunkRecord]

    /// Plaintext bytes of all distinct chunks: what verify and extract decode.
    public var uniqueBytes: Int64 { chunks.reduce(0) { $0 + Int64($1.plainLength) } }
}
