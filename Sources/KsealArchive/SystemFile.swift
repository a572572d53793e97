import CSystemShim
#if canImport(Glibc)
import Glibc
#endif

/// An open file descriptor, closed when the object goes away: a file, or a directory that the
/// `…at` calls below work in, so a path is never walked twice.
final class SystemFile {
    let descriptor: Int32
    let path: String

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { system_close(descriptor) }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws -> SystemFile {
        SystemFile(descriptor: try system_open(path, flags, mode).orThrow("open", path), path: path)
    }

    static func open(bytes path: [UInt8], flags: Int32, mode: mode_t = 0) throws -> SystemFile {
        let fd = try withCPath(path) { system_open($0, flags, mode) }.orThrow("open", display(path))
        return SystemFile(descriptor: fd, path: display(path))
    }

    /// `openat` relative to a directory descriptor.
    static func open(at directory: SystemFile, name: [UInt8], flags: Int32, mode: mode_t = 0, shownAs: String) throws -> SystemFile {
        try directory.open(name, flags: flags, mode: mode, shownAs: shownAs).orThrow("openat", shownAs)
    }

    /// A new descriptor for standard input (a pipe, for streaming extract).
    static func standardInput() -> SystemFile { SystemFile(descriptor: dup(STDIN_FILENO), path: "standard input") }
    static func standardOutput() -> SystemFile { SystemFile(descriptor: dup(STDOUT_FILENO), path: "standard output") }

    func status() throws -> FileStatus {
        var st = stat()
        try system_fstat(descriptor, &st).orThrow("fstat", path)
        return FileStatus(st)
    }

    /// Reads until `buffer` is full or end of file.
    /// - Returns: bytes read; less than `buffer.count` only at end of file.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try system_read(descriptor, UnsafeMutableRawBufferPointer(rebasing: buffer[total...])).orThrow("read", path)
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
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[total...])
            let n = try system_pread(descriptor, rest, offset + Int64(total)).orThrow("pread", path)
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// The first `count` bytes, in pieces of `pieceSize` (the last one shorter), each read into
    /// one buffer and given to `body` with its offset (which may change it in place).
    /// - Throws: ``ArchiveError`` `.io` when the file holds fewer bytes ("`what` ended early").
    func readPieces(count: Int, pieceSize: Int = 256 << 10, what: String,
                    _ body: (_ piece: UnsafeMutableRawBufferPointer, _ offset: Int) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(pieceSize, max(count, 1)), alignment: 64)
        defer { buffer.deallocate() }
        for offset in stride(from: 0, to: count, by: pieceSize) {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(pieceSize, count - offset)])
            let got = try pread(into: piece, at: Int64(offset))
            guard got == piece.count else { throw ArchiveError(.io, "\(what) ended early (\(offset + got) of \(count) bytes)") }
            try body(piece, offset)
        }
    }

    func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var total = 0
        while total < buffer.count {
            total += try system_write(descriptor, UnsafeRawBufferPointer(rebasing: buffer[total...])).orThrow("write", path)
        }
    }

    func writeAll(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try writeAll($0) } }

    func sync() throws { try system_fsync(descriptor).orThrow("fsync", path) }
    func fchmod(_ mode: UInt32) throws { try system_fchmod(descriptor, mode_t(mode)).orThrow("fchmod", path) }
    func fchown(uid: UInt32, gid: UInt32) throws { try system_fchown(descriptor, uid, gid).orThrow("fchown", path) }

    func setModificationTime(seconds: Int64, nanoseconds: Int64) throws {
        let times = Self.modificationOnly(seconds: seconds, nanoseconds: nanoseconds)
        try times.withUnsafeBufferPointer { system_futimens(descriptor, $0.baseAddress!) }.orThrow("futimens", path)
    }

    /// Moves the write position `count` bytes on, leaving a hole (format v2 zero runs).
    func skip(_ count: Int64) throws { _ = try system_lseek(descriptor, count, SEEK_CUR).orThrow("lseek", path) }
    func seek(to offset: Int64) throws { _ = try system_lseek(descriptor, offset, SEEK_SET).orThrow("lseek", path) }

    /// Sets the file's length; growing it adds a hole.
    func setLength(_ length: Int64) throws { try system_ftruncate(descriptor, length).orThrow("ftruncate", path) }

    /// Sets an extended attribute on the open file.
    func setAttribute(_ name: [UInt8], _ value: [UInt8]) -> Result<Void, Errno> {
        value.withUnsafeBytes { v in withCPath(name) { system_fsetxattr(descriptor, $0, v) } }
    }

    /// Makes a device node or FIFO `name` here (`mknodat`; `type` is S_IFCHR, S_IFBLK or S_IFIFO).
    func makeNode(_ name: [UInt8], type: mode_t, mode: mode_t, device: UInt64) -> Result<Void, Errno> {
        withCPath(name) { system_mknodat(descriptor, $0, type | mode, device) }
    }

    /// Takes an exclusive lock without waiting (`flock`).
    func lock() -> Result<Void, Errno> { system_flock(descriptor, LOCK_EX | LOCK_NB) }

    /// Access time left alone (UTIME_OMIT), modification time set.
    private static func modificationOnly(seconds: Int64, nanoseconds: Int64) -> [timespec] {
        [timespec(tv_sec: 0, tv_nsec: kseal_utime_omit()), timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds))]
    }

    // MARK: In this directory. Names are single components; nothing here follows a final symlink.

    func open(_ name: [UInt8], flags: Int32, mode: mode_t = 0, shownAs: String) -> Result<SystemFile, Errno> {
        withCPath(name) { system_openat(descriptor, $0, flags, mode) }.map { SystemFile(descriptor: $0, path: shownAs) }
    }

    func makeDirectory(_ name: [UInt8], mode: mode_t) -> Result<Void, Errno> {
        withCPath(name) { system_mkdirat(descriptor, $0, mode) }
    }

    func makeSymlink(_ name: [UInt8], to text: [UInt8]) -> Result<Void, Errno> {
        withCPath(text) { link in withCPath(name) { system_symlinkat(link, descriptor, $0) } }
    }

    /// A hard link `newName` in `directory` to this directory's `name`.
    func link(_ name: [UInt8], to directory: SystemFile, as newName: [UInt8]) -> Result<Void, Errno> {
        withCPath(name) { from in withCPath(newName) { system_linkat(descriptor, from, directory.descriptor, $0) } }
    }

    /// Gives an unnamed file (``system_open_unnamed``) the name `name` here.
    func link(unnamed file: SystemFile, as name: [UInt8]) -> Result<Void, Errno> {
        withCPath(name) { system_link_unnamed(file.descriptor, descriptor, $0) }
    }

    /// Renames `name` to `newName` in this directory, replacing what had that name.
    func rename(_ name: [UInt8], to newName: [UInt8]) -> Result<Void, Errno> {
        withCPath(name) { from in withCPath(newName) { system_renameat(descriptor, from, descriptor, $0) } }
    }

    func remove(_ name: [UInt8]) -> Result<Void, Errno> {
        withCPath(name) { system_unlinkat(descriptor, $0, 0) }
    }

    func status(of name: [UInt8]) -> Result<stat, Errno> {
        var st = stat()
        return withCPath(name) { system_fstatat(descriptor, $0, &st, AT_SYMLINK_NOFOLLOW) }.map { st }
    }

    /// The modification time of `name` itself (a symlink's own, never its target's).
    func setModificationTime(of name: [UInt8], seconds: Int64, nanoseconds: Int64) -> Result<Void, Errno> {
        let times = Self.modificationOnly(seconds: seconds, nanoseconds: nanoseconds)
        return times.withUnsafeBufferPointer { t in withCPath(name) { system_utimensat(descriptor, $0, t.baseAddress!, AT_SYMLINK_NOFOLLOW) } }
    }

    /// An extended attribute of `name` itself, a symlink's own included (`lsetxattr`).
    func setLinkAttribute(of name: [UInt8], _ attribute: [UInt8], _ value: [UInt8]) -> Result<Void, Errno> {
        // lsetxattr takes a path: this directory's, by /proc/self/fd, then the name.
        let path = Array("/proc/self/fd/\(descriptor)/".utf8) + name
        return value.withUnsafeBytes { v in withCPath(path) { p in withCPath(attribute) { system_lsetxattr(p, $0, v) } } }
    }

    /// The mode of `name` (never through a symlink: kseal only calls it on nodes it just made).
    func setMode(of name: [UInt8], _ mode: UInt32) -> Result<Void, Errno> {
        withCPath(name) { system_fchmodat(descriptor, $0, mode_t(mode)) }
    }

    /// The owner of `name` itself (a symlink's own).
    func setOwner(of name: [UInt8], uid: UInt32, gid: UInt32) -> Result<Void, Errno> {
        withCPath(name) { system_fchownat(descriptor, $0, uid, gid, AT_SYMLINK_NOFOLLOW) }
    }

    /// The text of the symlink `name`.
    func readLink(_ name: [UInt8]) -> Result<[UInt8], Errno> {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        return buffer.withUnsafeMutableBytes { raw in withCPath(name) { system_readlinkat(descriptor, $0, raw) } }.map { Array(buffer.prefix($0)) }
    }

    // MARK: Copying

    /// Copies `length` bytes from `source` (from its offset 0) to this file's current position,
    /// in the kernel where it can (`copy_file_range`), else through a buffer.
    /// - Parameter consuming: `source` is private scratch: each piece copied is punched out of
    ///   it at once, so its cached pages are freed (and reused for the copy) instead of the copy
    ///   needing as much fresh memory again, and its dirty pages are never written back.
    func append(from source: SystemFile, at start: Int64 = 0, length: Int64, consuming: Bool = false) throws {
        var offset: Int64 = start
        var remaining = length
        let piece: Int64 = 8 << 20
        var released: Int64 = start
        func release(upTo end: Int64) {
            guard consuming, end > released else { return }
            // Best effort: a file system without hole punching just keeps the pages longer.
            _ = kseal_punch_hole(source.descriptor, released, end - released)
            released = end
        }
        copying: while remaining > 0 {
            switch system_copy_file_range(source.descriptor, &offset, descriptor, Int(min(remaining, piece))) {
            case .success(0):
                throw ArchiveError(.io, "\(source.path): ended early while copying")
            case .success(let n):
                remaining -= Int64(n)
                release(upTo: offset)
            case .failure(let errno) where [EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EBADF].contains(errno.rawValue):
                break copying  // not between these two files: copy through a buffer
            case .failure(let errno):
                throw ArchiveError.system("copy_file_range", path, errno)
            }
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
