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
        var pathBytes: [UInt8] { path.map { Array($0.utf8) } ?? hex(path_hex!) }
    }
    struct Document: Decodable {
        let key_file_hex, data_key_hex, archive_id_hex: String
        let chunk_size: Int
        let compression_level: Int32
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

    public var options: CreateOptions {
        var options = CreateOptions()
        options.secrets = ArchiveSecrets(dataKey: hex(document.data_key_hex), archiveID: hex(document.archive_id_hex))
        options.chunkSize = document.chunk_size
        options.compressionLevel = document.compression_level
        options.uidOverride = 0
        options.gidOverride = 0
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
                _ = content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            case "symlink":
                _ = cPath(Array(node.target!.utf8)) { target in cPath(path) { symlink(target, $0) } }
            case "hardlink":
                _ = cPath(base + Array(node.target!.utf8)) { target in cPath(path) { link(target, $0) } }
            default:
                fatalError("unknown node type \(node.type)")
            }
            if let mode = node.mode { _ = cPath(path) { chmod($0, mode_t(mode)) } }
            if node.type == "file" || node.type == "symlink" { setTime(path, node) }
        }
        for node in document.tree.reversed() where node.type == "directory" { setTime(base + node.pathBytes, node) }
    }

    /// Creates the vector archive from a fresh tree with the given backend.
    public func recreate(backend: any CryptoBackend, in scratch: String, workers: Int? = nil) throws -> [UInt8] {
        let tree = scratch + "/vector-tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try buildTree(at: tree)
        let output = scratch + "/vector.kseal"
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(tree)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        var options = self.options
        options.workers = workers
        _ = try ArchiveWriter.create(paths: [Array(".".utf8)], destination: .file(output), keyFile: keyFile, backend: backend, options: options,
                                     warn: { _ in })
        return Array(try Data(contentsOf: URL(fileURLWithPath: output)))
    }
}

/// UTIME_OMIT ((1l << 30) - 2l) from <sys/stat.h>, which Swift does not import.
private let UTIME_OMIT_VALUE = (1 << 30) - 2
