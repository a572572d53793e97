import CSystemShim
#if canImport(Glibc)
import Glibc
#endif

/// What format v2 keeps beyond v1's metadata: extended attributes (POSIX ACLs among them) and
/// where a file's data lies (its holes).
enum FileAttributes {
    /// The extended attributes of `path` itself (a symlink's own), sorted by name so archives are
    /// deterministic. A file system without xattr support has none.
    static func extendedAttributes(of path: [UInt8]) throws -> [ExtendedAttribute] {
        let names = try withCPath(path) { p in try readGrowing(display(path), "llistxattr") { system_llistxattr(p, $0) } }
        var attributes: [ExtendedAttribute] = []
        for name in names.split(separator: 0).map(Array.init).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let value: [UInt8]
            do {
                value = try withCPath(path) { p in
                    try withCPath(name) { n in try readGrowing(display(path), "lgetxattr") { system_lgetxattr(p, n, $0) } }
                }
            } catch let error as ArchiveError where (error.cause as? SystemError)?.errno == ENODATA {
                continue  // removed since it was listed
            }
            attributes.append(ExtendedAttribute(name: name, value: value))
        }
        return attributes
    }

    /// Whether `path` itself has any extended attribute (what format 1 cannot record).
    static func hasExtendedAttributes(_ path: [UInt8]) throws -> Bool {
        try !withCPath(path) { p in try readGrowing(display(path), "llistxattr") { system_llistxattr(p, $0) } }.isEmpty
    }

    /// Calls `read` with a buffer, growing it while the call says ERANGE (the value grew between
    /// asking its size and reading it). ENOTSUP (no xattrs here) reads as empty.
    private static func readGrowing(_ path: String, _ call: String, _ read: (UnsafeMutableRawBufferPointer) -> Result<Int, Errno>) throws -> [UInt8] {
        var capacity = 256
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            switch buffer.withUnsafeMutableBytes(read) {
            case .success(let count): return Array(buffer.prefix(count))
            case .failure(.range) where capacity < 1 << 20: capacity *= 4
            case .failure(.notSupported): return []
            case .failure(let errno): throw ArchiveError.system(call, path, errno)
            }
        }
    }

    /// The byte ranges of `file` (of `size` bytes) that hold data, from `SEEK_DATA`/`SEEK_HOLE`;
    /// the rest reads as zeros. A file system that cannot tell reports the whole file as data.
    static func dataRegions(of file: SystemFile, size: Int64) throws -> [Range<Int64>] {
        var regions: [Range<Int64>] = []
        var offset: Int64 = 0
        while offset < size {
            let start: Int64
            switch system_lseek(file.descriptor, offset, kseal_seek_data()) {
            case .success(let found): start = found
            case .failure(.noSuchDeviceOrAddress): return regions  // only a hole from here on
            case .failure(let errno) where errno.rawValue == EINVAL: return [0..<size]  // no SEEK_DATA here
            case .failure(let errno): throw ArchiveError.system("lseek", file.path, errno)
            }
            let end = min(try system_lseek(file.descriptor, start, kseal_seek_hole()).orThrow("lseek", file.path), size)
            if start < end { regions.append(start..<end) }
            offset = end
        }
        return regions
    }
}
