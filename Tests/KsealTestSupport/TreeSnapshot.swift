import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Everything kseal promises to restore about a tree, for comparing an input with its extraction:
/// type, permission bits, owner, size, mtime to the nanosecond, content hash, link text, and which
/// paths share an inode (hard links). Paths are raw bytes.
public struct TreeSnapshot: Equatable, CustomStringConvertible {
    public struct Node: Equatable {
        public var kind: String
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var size: Int64
        public var mtime: String
        public var content: String
        /// The first path (in sorted order) sharing this node's inode, for hard links.
        public var inodeGroup: [UInt8]?
    }

    public var nodes: [[UInt8]: Node] = [:]
    public var description: String { "\(nodes.count) nodes" }

    /// - Parameters:
    ///   - root: the directory to walk; paths are relative to it.
    ///   - includeDirectoryMtimes: directory mtimes (false where the walk itself changes them).
    public init(of root: String, includeDirectoryMtimes: Bool = true) throws {
        var inodes: [String: [UInt8]] = [:]
        try walk(Array(root.utf8), relative: [], includeDirectoryMtimes: includeDirectoryMtimes, inodes: &inodes)
    }

    private mutating func walk(_ path: [UInt8], relative: [UInt8], includeDirectoryMtimes: Bool, inodes: inout [String: [UInt8]]) throws {
        var st = stat()
        guard cPath(path, { lstat($0, &st) }) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var node = Node(kind: "", mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid, size: 0,
                        mtime: "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)", content: "", inodeGroup: nil)
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            node.kind = "dir"
            if !includeDirectoryMtimes { node.mtime = "" }
            let names = try Self.list(path)
            nodes[relative] = node  // the root too, under the empty path
            for name in names {
                try walk(path + [47] + name, relative: relative.isEmpty ? name : relative + [47] + name,
                         includeDirectoryMtimes: includeDirectoryMtimes, inodes: &inodes)
            }
            return
        case S_IFLNK:
            node.kind = "symlink"
            var buffer = [CChar](repeating: 0, count: 4097)
            let n = cPath(path) { readlink($0, &buffer, buffer.count) }
            node.content = buffer.prefix(n).map { String(UInt8(bitPattern: $0), radix: 16) }.joined(separator: ".")
        case S_IFREG:
            node.kind = "file"
            node.size = Int64(st.st_size)
            node.content = SHA256.hash(data: try Self.contents(path)).map { String(format: "%02x", $0) }.joined()
            if st.st_nlink > 1 {
                let key = "\(st.st_dev):\(st.st_ino)"
                if let first = inodes[key] { node.inodeGroup = first } else { inodes[key] = relative; node.inodeGroup = relative }
            }
        default:
            node.kind = "other"
        }
        nodes[relative] = node
    }

    static func list(_ path: [UInt8]) throws -> [[UInt8]] {
        guard let dir = cPath(path, { opendir($0) }) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [46] && name != [46, 46] { names.append(name) }
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// A file's bytes, by raw path (names need not be UTF-8).
    public static func contents(_ path: [UInt8]) throws -> Data {
        let fd = cPath(path) { open($0, O_RDONLY) }
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }

    /// The differences, one line each, for a readable failure message.
    public func differences(from other: TreeSnapshot) -> [String] {
        var lines: [String] = []
        for path in Set(nodes.keys).union(other.nodes.keys).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let name = String(decoding: path, as: UTF8.self)
            switch (nodes[path], other.nodes[path]) {
            case (nil, _): lines.append("only in second: \(name)")
            case (_, nil): lines.append("only in first: \(name)")
            case (let a?, let b?) where a != b: lines.append("\(name): \(a) != \(b)")
            default: break
            }
        }
        return lines
    }
}

/// Runs `body` with a path given as raw bytes.
public func cPath<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
    (bytes + [0]).withUnsafeBufferPointer { $0.baseAddress!.withMemoryRebound(to: CChar.self, capacity: $0.count) { body($0) } }
}

/// A scratch directory removed at deinit.
public final class ScratchDirectory {
    public let path: String
    public init(_ label: String = "kseal-test") throws {
        var template = Array("\(NSTemporaryDirectory())/\(label).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
    }
    public func sub(_ name: String) throws -> String {
        let p = path + "/" + name
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a shell command, failing loudly; for building fixtures with cp -a, ln, etc.
@discardableResult
public func shell(_ command: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw POSIXError(.EIO, userInfo: [NSLocalizedDescriptionKey: "\(command) failed"]) }
    return String(decoding: output, as: UTF8.self)
}
