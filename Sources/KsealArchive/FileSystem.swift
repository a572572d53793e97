import CSystemShim
#if canImport(Glibc)
import Glibc
#endif

/// A failed file-system call: the call, the path and errno. Wrapped in an ``ArchiveError`` `.io`.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let path: String
    public let errno: Int32
    public var description: String { "\(path): \(String(cString: strerror(errno)))" }
}

/// Retries a syscall on EINTR and turns -1 into a thrown `.io` error naming `path`.
@inline(__always)
func syscallRetrying<T: FixedWidthInteger>(_ call: String, _ path: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        let error = SystemError(call: call, path: path(), errno: code)
        throw ArchiveError(.io, error.description, cause: error)
    }
}

/// Calls `body` with `bytes` as a NUL-terminated C string.
func withCPath<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    try (bytes + [0]).withUnsafeBufferPointer { buffer in
        try buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { try body($0) }
    }
}

/// Path bytes for messages: UTF-8 where valid, with invalid bytes replaced.
func display(_ path: [UInt8]) -> String { String(decoding: path, as: UTF8.self) }

/// What `lstat`/`fstat` report, in kseal's terms.
struct FileStatus {
    enum Kind { case regular, directory, symlink, other(String) }
    let kind: Kind
    let mode: UInt32
    let uid: UInt32
    let gid: UInt32
    let size: Int64
    let mtimeSeconds: Int64
    let mtimeNanoseconds: Int64
    let device: UInt64
    let inode: UInt64
    let linkCount: UInt64

    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFIFO: kind = .other("FIFO")
        case S_IFSOCK: kind = .other("socket")
        case S_IFCHR: kind = .other("character device")
        case S_IFBLK: kind = .other("block device")
        default: kind = .other("unknown file type")
        }
        mode = UInt32(st.st_mode & 0o7777)
        uid = st.st_uid
        gid = st.st_gid
        size = Int64(st.st_size)
        mtimeSeconds = Int64(st.st_mtim.tv_sec)
        mtimeNanoseconds = Int64(st.st_mtim.tv_nsec)
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        linkCount = UInt64(st.st_nlink)
    }

    /// `lstat`: never follows a final symlink.
    static func of(_ path: [UInt8]) throws -> FileStatus {
        var st = stat()
        _ = try withCPath(path) { p in try syscallRetrying("lstat", display(path)) { lstat(p, &st) } }
        return FileStatus(st)
    }
}

/// A file's identity on its file system, to find hard links.
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64
}

extension FileStatus {
    var identity: FileIdentity { FileIdentity(device: device, inode: inode) }
}

/// The directory part of a path (`.` for a bare name).
func directoryName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

public enum ProcessEnvironment {
    /// Caps glibc's heap arenas at `count`. Each thread that allocates otherwise gets an arena
    /// of its own, which keeps memory its thread freed: with the pipeline's threads that was
    /// 6 MiB of create's peak RSS (measured with MALLOC_ARENA_MAX), and two arenas cost no
    /// measurable speed. Call before starting threads.
    public static func limitMallocArenas(_ count: Int) { _ = kseal_limit_malloc_arenas(Int32(count)) }

    static var temporaryDirectory: String {
        if let dir = getenv("TMPDIR"), dir.pointee != 0 { return String(cString: dir) }
        return "/tmp"
    }
}

/// A private scratch file that has no name: it vanishes when closed, even after `kill -9`.
func unlinkedTemporaryFile(in directory: String) throws -> SystemFile {
    let parent = try SystemFile.open(directory, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    let fd = kseal_open_unnamed(parent.descriptor, 0o600)
    if fd >= 0 { return SystemFile(descriptor: fd, path: "scratch file in \(directory)") }
    // File systems without O_TMPFILE: a named file, unlinked at once.
    let path = "\(directory)/.kseal-scratch-\(TemporaryFiles.suffix())"
    let file = try SystemFile.open(path, flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: 0o600)
    _ = try syscallRetrying("unlink", path) { unlink(path) }
    return file
}

/// A file that appears under its name only once complete: written as an unnamed inode
/// (`O_TMPFILE`, which vanishes by itself if the process dies, even by SIGKILL) and linked into
/// place by ``publish(as:)``. Where the file system cannot make unnamed files, it is written under
/// a hidden part name, removed on failure and on SIGINT/SIGTERM/SIGHUP. A part name left by a
/// writer killed outright is removed by the next writer in that directory (``PartFiles``).
final class PendingFile {
    let file: SystemFile
    private let directory: SystemFile
    private let directoryPath: String
    /// The hidden name while one exists (always in the fallback; briefly while publishing).
    private var hiddenName: [UInt8]?
    private var token: Int?

    /// - Parameters:
    ///   - directory: where the file will be published.
    ///   - directoryPath: that directory's path, for messages and signal cleanup.
    init(in directory: SystemFile, directoryPath: String, mode: mode_t) throws {
        self.directory = directory
        self.directoryPath = directoryPath
        let fd = kseal_open_unnamed(directory.descriptor, Int32(mode))
        if fd >= 0 {
            file = SystemFile(descriptor: fd, path: directoryPath)
            // Claimed before it can ever have a name (publish links it under a part name first).
            PartFiles.claim(file)
            return
        }
        let hidden = PartFiles.name()
        hiddenName = hidden
        token = TemporaryFiles.register(directoryPath + "/" + display(hidden))
        do {
            file = try SystemFile.open(at: directory, name: hidden, flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: mode,
                                       shownAs: directoryPath + "/" + display(hidden))
            PartFiles.claim(file)
        } catch {
            TemporaryFiles.unregister(token)
            throw error
        }
    }

    /// Gives the file its name, replacing whatever had it (a file or a symlink, never followed).
    func publish(as name: [UInt8], shownAs: String) throws {
        if hiddenName == nil {
            let hidden = PartFiles.name()
            token = TemporaryFiles.register(directoryPath + "/" + display(hidden))
            let linked = withCPath(hidden) { kseal_link_unnamed(file.descriptor, directory.descriptor, $0) }
            guard linked == 0 else {
                let error = SystemError(call: "linkat", path: shownAs, errno: errno)
                TemporaryFiles.unregister(token)
                token = nil
                throw ArchiveError(.io, error.description, cause: error)
            }
            hiddenName = hidden
        }
        let renamed = withCPath(hiddenName!) { from in withCPath(name) { renameat(directory.descriptor, from, directory.descriptor, $0) } }
        guard renamed == 0 else {
            let error = SystemError(call: "rename", path: shownAs, errno: errno)
            throw ArchiveError(.io, error.description, cause: error)
        }
        hiddenName = nil
        TemporaryFiles.unregister(token)
        token = nil
    }

    deinit {
        if let hiddenName { _ = withCPath(hiddenName) { unlinkat(directory.descriptor, $0, 0) } }
        TemporaryFiles.unregister(token)
    }
}

/// A whole file (the archive) written as a ``PendingFile`` and published at ``commit()``.
final class AtomicOutput {
    let path: String
    private let pending: PendingFile
    private let directory: SystemFile
    var file: SystemFile { pending.file }

    init(path: String, mode: mode_t = 0o666) throws {
        self.path = path
        let directoryPath = directoryName(path)
        directory = try SystemFile.open(directoryPath, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        PartFiles.sweep(directory)
        pending = try PendingFile(in: directory, directoryPath: directoryPath, mode: mode)
    }

    /// Flushes the archive to disk, renames it over `path` and flushes the directory.
    func commit() throws {
        try file.sync()
        let name = Array((path.split(separator: "/").last.map(String.init) ?? path).utf8)
        try pending.publish(as: name, shownAs: path)
        try? directory.sync()
    }
}

/// An open file descriptor, closed when the object goes away.
final class SystemFile {
    let descriptor: Int32
    let path: String

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws -> SystemFile {
        let fd = try syscallRetrying("open", path) { Glibc.open(path, flags, mode) }
        return SystemFile(descriptor: fd, path: path)
    }

    static func open(bytes path: [UInt8], flags: Int32, mode: mode_t = 0) throws -> SystemFile {
        let fd = try withCPath(path) { p in try syscallRetrying("open", display(path)) { Glibc.open(p, flags, mode) } }
        return SystemFile(descriptor: fd, path: display(path))
    }

    /// `openat` relative to a directory descriptor.
    static func open(at directory: SystemFile, name: [UInt8], flags: Int32, mode: mode_t = 0, shownAs: String) throws -> SystemFile {
        let fd = try withCPath(name) { p in try syscallRetrying("openat", shownAs) { openat(directory.descriptor, p, flags, mode) } }
        return SystemFile(descriptor: fd, path: shownAs)
    }

    /// A new descriptor for standard input (a pipe, for streaming extract).
    static func standardInput() -> SystemFile { SystemFile(descriptor: dup(STDIN_FILENO), path: "standard input") }
    static func standardOutput() -> SystemFile { SystemFile(descriptor: dup(STDOUT_FILENO), path: "standard output") }

    func status() throws -> FileStatus {
        var st = stat()
        _ = try syscallRetrying("fstat", path) { fstat(descriptor, &st) }
        return FileStatus(st)
    }

    /// Reads until `buffer` is full or end of file.
    /// - Returns: bytes read; less than `buffer.count` only at end of file.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try syscallRetrying("read", path) { read(descriptor, buffer.baseAddress! + total, buffer.count - total) }
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Up to `count` bytes from the start of the file (fewer if it is shorter).
    func readPrefix(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { try pread(into: $0, at: 0) }
        return Array(bytes.prefix(got))
    }

    func pread(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try syscallRetrying("pread", path) { Glibc.pread(descriptor, buffer.baseAddress! + total, buffer.count - total, off_t(offset) + off_t(total)) }
            if n == 0 { break }
            total += n
        }
        return total
    }

    func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var total = 0
        while total < buffer.count {
            total += try syscallRetrying("write", path) { write(descriptor, buffer.baseAddress! + total, buffer.count - total) }
        }
    }

    func writeAll(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try writeAll($0) } }

    func sync() throws { _ = try syscallRetrying("fsync", path) { fsync(descriptor) } }
    func fchmod(_ mode: UInt32) throws { _ = try syscallRetrying("fchmod", path) { Glibc.fchmod(descriptor, mode_t(mode)) } }
    func fchown(uid: UInt32, gid: UInt32) throws { _ = try syscallRetrying("fchown", path) { Glibc.fchown(descriptor, uid, gid) } }

    func setModificationTime(seconds: Int64, nanoseconds: Int64) throws {
        var times = [timespec(tv_sec: 0, tv_nsec: kseal_utime_omit()), timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds))]
        _ = try syscallRetrying("futimens", path) { futimens(descriptor, &times) }
    }


    /// Copies `length` bytes from `source` (from its offset 0) to this file's current position,
    /// in the kernel where it can (`copy_file_range`), else through a buffer.
    /// - Parameter consuming: `source` is private scratch: each piece copied is punched out of
    ///   it at once, so its cached pages are freed (and reused for the copy) instead of the copy
    ///   needing as much fresh memory again, and its dirty pages are never written back.
    func append(from source: SystemFile, length: Int64, consuming: Bool = false) throws {
        var offset: Int64 = 0
        var remaining = length
        let piece: Int64 = 8 << 20
        var released: Int64 = 0
        func release(upTo end: Int64) {
            guard consuming, end > released else { return }
            // Best effort: a file system without hole punching just keeps the pages longer.
            _ = kseal_punch_hole(source.descriptor, released, end - released)
            released = end
        }
        while remaining > 0 {
            let n = kseal_copy_file_range(source.descriptor, &offset, descriptor, Int(min(remaining, piece)))
            if n > 0 {
                remaining -= Int64(n)
                release(upTo: offset)
                continue
            }
            if n == 0 { throw ArchiveError(.io, "\(source.path): ended early while copying") }
            if errno == EINTR { continue }
            if [EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EBADF].contains(errno) { break }
            let error = SystemError(call: "copy_file_range", path: path, errno: errno)
            throw ArchiveError(.io, error.description, cause: error)
        }
        guard remaining > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while remaining > 0 {
            let want = Int(min(remaining, Int64(buffer.count)))
            let got = try buffer.withUnsafeMutableBytes { try source.pread(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), at: offset) }
            guard got == want else { throw ArchiveError(.io, "\(source.path): ended early while copying") }
            try buffer.withUnsafeBytes { try writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<want])) }
            offset += Int64(want)
            remaining -= Int64(want)
            release(upTo: offset)
        }
    }
}

/// The names in a directory (not `.` and `..`), sorted bytewise so archives are deterministic.
func directoryEntries(_ path: [UInt8]) throws -> [[UInt8]] {
    let fd = try withCPath(path) { p in try syscallRetrying("open", display(path)) { open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } }
    return try readDirectory(owning: fd, shownAs: display(path)).sorted { $0.lexicographicallyPrecedes($1) }
}

/// The names in the open directory `directory` (not `.` and `..`), in the file system's order.
func directoryEntries(of directory: SystemFile) throws -> [[UInt8]] {
    let fd = try syscallRetrying("dup", directory.path) { fcntl(directory.descriptor, F_DUPFD_CLOEXEC, 0) }
    return try readDirectory(owning: fd, shownAs: directory.path)
}

/// Reads the directory open as `fd`, which it closes.
private func readDirectory(owning fd: Int32, shownAs path: String) throws -> [[UInt8]] {
    guard let dir = fdopendir(fd) else {
        close(fd)
        throw ArchiveError(.io, "\(path): cannot list directory")
    }
    defer { closedir(dir) }
    var names: [[UInt8]] = []
    while true {
        errno = 0
        guard let entry = readdir(dir) else {
            if errno != 0 { throw ArchiveError(.io, "\(path): \(String(cString: strerror(errno)))") }
            break
        }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
        if name == [46] || name == [46, 46] { continue }
        names.append(name)
    }
    return names
}

/// The target of a symbolic link, as raw bytes.
func readLinkTarget(_ path: [UInt8]) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = try withCPath(path) { p in
        try syscallRetrying("readlink", display(path)) { buffer.withUnsafeMutableBufferPointer { readlink(p, UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), $0.count) } }
    }
    return Array(buffer.prefix(n))
}

/// The text of the symlink `name` in `directory`.
func readLinkTarget(at directory: SystemFile, _ name: [UInt8]) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = try withCPath(name) { p in
        try syscallRetrying("readlinkat", display(name)) {
            buffer.withUnsafeMutableBufferPointer { readlinkat(directory.descriptor, p, UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), $0.count) }
        }
    }
    return Array(buffer.prefix(n))
}
