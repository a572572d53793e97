#if canImport(Glibc)
import Glibc
#endif

/// The names in a directory (not `.` and `..`), sorted bytewise so archives are deterministic.
func directoryEntries(_ path: [UInt8]) throws -> [[UInt8]] {
    let fd = try withCPath(path) { system_open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0) }.orThrow("open", display(path))
    return try readDirectory(owning: fd, shownAs: display(path)).sorted { $0.lexicographicallyPrecedes($1) }
}

/// The names in the open directory `directory` (not `.` and `..`), in the file system's order.
func directoryEntries(of directory: SystemFile) throws -> [[UInt8]] {
    let fd = try system_dup(directory.descriptor).orThrow("dup", directory.path)
    return try readDirectory(owning: fd, shownAs: directory.path)
}

/// Reads the directory open as `fd`, which it closes.
private func readDirectory(owning fd: Int32, shownAs path: String) throws -> [[UInt8]] {
    guard let dir = fdopendir(fd) else {
        system_close(fd)
        throw ArchiveError(.io, "\(path): cannot list directory")
    }
    defer { closedir(dir) }
    var names: [[UInt8]] = []
    while let entry = try system_readdir(dir).orThrow("readdir", path) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
        if name == [46] || name == [46, 46] { continue }
        names.append(name)
    }
    return names
}

/// The target of a symbolic link, as raw bytes.
func readLinkTarget(_ path: [UInt8]) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = try buffer.withUnsafeMutableBytes { raw in withCPath(path) { system_readlink($0, raw) } }.orThrow("readlink", display(path))
    return Array(buffer.prefix(n))
}
