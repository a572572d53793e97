import Foundation
import KsealArchive
import KsealCrypto
#if canImport(Glibc)
import Glibc
#endif

/// The format test vector in Formats/vectors: its description, and the tree it was made from.
public struct FormatVector {
    struct Node: Decodable {
        let path: String?
        let path_hex: String?
        let type: String
        let mode: UInt32?
        let mtime: Int?
        let mtime_nsec: Int?
        let content_base64: String?
        let target: String?
        // Format 2: xattrs (name to value in hex), device numbers, and for a sparse file the
        // bytes of hole before its content and its whole length.
        let xattrs: [String: String]?
        let major: UInt32?
        let minor: UInt32?
        let hole_before: Int?
        let length: Int?
        var pathBytes: [UInt8] { path.map { Array($0.utf8) } ?? hex(path_hex!) }
    }
    struct Document: Decodable {
        let key_file_hex, data_key_hex, archive_id_hex: String
        let chunk_size: Int
        let compression_level: Int32
        let format: UInt16?
        /// Format 2 signatures: the signing key's seed, and a forger's (v2-signed).
        let signing_seed_hex: String?
        let forger_seed_hex: String?
        let p256_seed_hex: String?
        /// Further key slots (v2-signed): a second key file and a passphrase.
        let second_key_file_hex: String?
        let passphrase: String?
        let slot_salt_hex: String?
        let scrypt_log2_n: Int?
        let tree: [Node]
    }

    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Formats/vectors")
    public let name: String
    let document: Document

    public init(_ name: String = "v1-basic") throws {
        self.name = name
        document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: Self.directory.appendingPathComponent("\(name).json")))
    }

    public var archivePath: String { Self.directory.appendingPathComponent("\(name).kseal").path }
    public var listingPath: String { Self.directory.appendingPathComponent("\(name).listing.txt").path }
    public var keyFile: KeyFile { try! KeyFile(bytes: hex(document.key_file_hex)) }
    public var keyBytes: [UInt8] { hex(document.key_file_hex) }
    public var secondKeyFile: KeyFile? { document.second_key_file_hex.map { try! KeyFile(bytes: hex($0)) } }
    public var passphrase: Passphrase? { document.passphrase.map { try! Passphrase(bytes: Array($0.utf8)) } }
    public var signingKey: SigningKey? { document.signing_seed_hex.map { try! SigningKey(seed: hex($0)) } }
    public var forgerKey: SigningKey? { document.forger_seed_hex.map { try! SigningKey(seed: hex($0)) } }
    public var p256Key: SigningKey? { document.p256_seed_hex.map { try! SigningKey(seed: hex($0), algorithm: .ecdsaP256) } }
    public func path(_ suffix: String) -> String { Self.directory.appendingPathComponent("\(name)\(suffix)").path }

    public var options: CreateOptions {
        var options = CreateOptions()
        options.secrets = ArchiveSecrets(dataKey: hex(document.data_key_hex), archiveID: hex(document.archive_id_hex),
                                         slotSalt: document.slot_salt_hex.map(hex))
        if let log2N = document.scrypt_log2_n { options.scryptCost = ScryptCost(log2N: log2N, r: 8, p: 1) }
        options.chunkSize = document.chunk_size
        options.compressionLevel = document.compression_level
        options.ownerOverride = OwnerOverride(id: 0)
        options.groupOverride = OwnerOverride(id: 0)
        options.formatVersion = FormatVersion(rawValue: document.format ?? 1)!
        options.signingKey = signingKey
        return options
    }

    /// Builds the vector's input tree under `root`.
    public func buildTree(at root: String) throws {
        let base = Array(root.utf8) + [47]
        func setTime(_ path: [UInt8], _ node: Node) {
            var times = [timespec(tv_sec: 0, tv_nsec: Int(UTIME_OMIT_VALUE)), timespec(tv_sec: node.mtime ?? 0, tv_nsec: node.mtime_nsec ?? 0)]
            _ = cPath(path) { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }
        }
        for node in document.tree {
            let path = base + node.pathBytes
            switch node.type {
            case "directory":
                _ = cPath(path) { mkdir($0, 0o700) }
            case "file":
                let fd = cPath(path) { open($0, O_CREAT | O_WRONLY | O_TRUNC, 0o600) }
                let content = [UInt8](Data(base64Encoded: node.content_base64 ?? "")!)
                if let hole = node.hole_before { _ = lseek(fd, off_t(hole), SEEK_SET) }
                _ = content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if let length = node.length { _ = ftruncate(fd, off_t(length)) }
                close(fd)
            case "fifo":
                _ = cPath(path) { mkfifo($0, 0o600) }
            case "chardev", "blockdev":
                let type = node.type == "chardev" ? S_IFCHR : S_IFBLK
                _ = cPath(path) { mknod($0, type | 0o600, dev_t(gnuDeviceNumber(node.major!, node.minor!))) }
            case "symlink":
                _ = cPath(Array(node.target!.utf8)) { target in cPath(path) { symlink(target, $0) } }
            case "hardlink":
                _ = cPath(base + Array(node.target!.utf8)) { target in cPath(path) { link(target, $0) } }
            default:
                fatalError("unknown node type \(node.type)")
            }
            if let mode = node.mode, node.type != "symlink" { _ = cPath(path) { chmod($0, mode_t(mode)) } }
            for (name, value) in (node.xattrs ?? [:]).sorted(by: { $0.key < $1.key }) {
                let shown = String(decoding: path, as: UTF8.self)
                _ = try? shell("setfattr -h -n '\(name)' -v 0x\(value) '\(shown)'")
            }
            if node.type != "directory" && node.type != "hardlink" { setTime(path, node) }
        }
        for node in document.tree.reversed() where node.type == "directory" { setTime(base + node.pathBytes, node) }
    }

    /// Creates the vector archive from a fresh tree with the given backend.
    public func recreate(backend: any CryptoBackend, in scratch: String, workers: Int? = nil, signingKey: SigningKey?? = nil,
                         alter: ((String) throws -> Void)? = nil) throws -> [UInt8] {
        let tree = scratch + "/vector-tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try buildTree(at: tree)
        try alter?(tree)
        let output = scratch + "/vector.kseal"
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(tree)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        var options = self.options
        options.workers = workers
        if let signingKey { options.signingKey = signingKey }
        _ = try ArchiveWriter.create(paths: [Array(".".utf8)], destination: .file(output), keyFiles: [keyFile] + (secondKeyFile.map { [$0] } ?? []),
                                     passphrases: passphrase.map { [$0] } ?? [], backend: backend, options: options, warn: { _ in })
        return Array(try Data(contentsOf: URL(fileURLWithPath: output)))
    }
}

/// UTIME_OMIT ((1l << 30) - 2l) from <sys/stat.h>, which Swift does not import.
private let UTIME_OMIT_VALUE = (1 << 30) - 2

/// glibc's makedev (a macro Swift cannot call), for the vector's device nodes.
private func gnuDeviceNumber(_ major: UInt32, _ minor: UInt32) -> UInt64 {
    let major = UInt64(major), minor = UInt64(minor)
    return (major & 0xFFF) << 8 | (major & ~0xFFF) << 32 | (minor & 0xFF) | (minor & ~0xFF) << 12
}
