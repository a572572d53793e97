import CSystemShim
#if canImport(Glibc)
import Glibc
#endif

// Thin syscall wrappers in the style of swift-system, as AFAlg's: each returns
// `Result<_, Errno>`, retries EINTR, and is the only place that reads the C `errno`. Above this
// file, typed methods (``SystemFile``, ``FileStatus``) turn a failure into an ``ArchiveError``
// `.io` with ``Result/orThrow(_:_:)``, or look at the errno where one means something (a missing
// directory to create, a symlink to refuse).

/// An errno value.
struct Errno: Error, Equatable {
    let rawValue: Int32

    static var current: Errno { Errno(rawValue: errno) }

    static let interrupted = Errno(rawValue: EINTR)
    static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    static let fileExists = Errno(rawValue: EEXIST)
    static let tooManySymbolicLinks = Errno(rawValue: ELOOP)
    static let notDirectory = Errno(rawValue: ENOTDIR)
    static let permissionDenied = Errno(rawValue: EPERM)
    static let noData = Errno(rawValue: ENODATA)
    static let notSupported = Errno(rawValue: EOPNOTSUPP)
    static let range = Errno(rawValue: ERANGE)
    static let noSuchDeviceOrAddress = Errno(rawValue: ENXIO)
}

/// A failed file-system call: the call, the path and errno. Wrapped in an ``ArchiveError`` `.io`.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let path: String
    public let errno: Int32
    public var description: String { "\(path): \(String(cString: strerror(errno)))" }
}

extension Result where Failure == Errno {
    /// The value, or an ``ArchiveError`` `.io` naming `path` (and the call, as its cause).
    func orThrow(_ call: String, _ path: @autoclosure () -> String) throws -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let errno): throw ArchiveError.system(call, path(), errno)
        }
    }
}

extension ArchiveError {
    static func system(_ call: String, _ path: String, _ errno: Errno) -> ArchiveError {
        let error = SystemError(call: call, path: path, errno: errno.rawValue)
        return ArchiveError(.io, error.description, cause: error)
    }
}

@inline(__always)
private func retryingOnInterrupt<T: FixedWidthInteger>(_ body: () -> T) -> Result<T, Errno> {
    while true {
        let result = body()
        if result != -1 { return .success(result) }
        let error = Errno.current
        if error != .interrupted { return .failure(error) }
    }
}

private func discarding<T>(_ result: Result<T, Errno>) -> Result<Void, Errno> { result.map { _ in () } }

func system_open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Result<Int32, Errno> {
    retryingOnInterrupt { open(path, flags, mode) }
}

func system_openat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Result<Int32, Errno> {
    retryingOnInterrupt { openat(directory, path, flags, mode) }
}

func system_open_unnamed(_ directory: Int32, _ mode: mode_t) -> Result<Int32, Errno> {
    retryingOnInterrupt { kseal_open_unnamed(directory, Int32(mode)) }
}

func system_link_unnamed(_ fd: Int32, _ directory: Int32, _ name: UnsafePointer<CChar>) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { kseal_link_unnamed(fd, directory, name) })
}

func system_dup(_ fd: Int32) -> Result<Int32, Errno> {
    retryingOnInterrupt { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
}

func system_close(_ fd: Int32) {
    // close() must not be retried on EINTR on Linux: the descriptor is already released.
    _ = close(fd)
}

func system_lstat(_ path: UnsafePointer<CChar>, _ status: inout stat) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { lstat(path, &status) })
}

func system_fstat(_ fd: Int32, _ status: inout stat) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { fstat(fd, &status) })
}

func system_fstatat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ status: inout stat, _ flags: Int32) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { fstatat(directory, path, &status, flags) })
}

func system_read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
    retryingOnInterrupt { read(fd, buffer.baseAddress, buffer.count) }
}

func system_pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ offset: Int64) -> Result<Int, Errno> {
    retryingOnInterrupt { pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
}

func system_write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Result<Int, Errno> {
    retryingOnInterrupt { write(fd, buffer.baseAddress, buffer.count) }
}

func system_copy_file_range(_ from: Int32, _ offset: inout Int64, _ to: Int32, _ length: Int) -> Result<Int, Errno> {
    retryingOnInterrupt { kseal_copy_file_range(from, &offset, to, length) }
}

func system_fsync(_ fd: Int32) -> Result<Void, Errno> { discarding(retryingOnInterrupt { fsync(fd) }) }

func system_fchmod(_ fd: Int32, _ mode: mode_t) -> Result<Void, Errno> { discarding(retryingOnInterrupt { fchmod(fd, mode) }) }

func system_fchown(_ fd: Int32, _ uid: uid_t, _ gid: gid_t) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { fchown(fd, uid, gid) })
}

func system_futimens(_ fd: Int32, _ times: UnsafePointer<timespec>) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { futimens(fd, times) })
}

func system_flock(_ fd: Int32, _ operation: Int32) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { flock(fd, operation) })
}

func system_mkdirat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ mode: mode_t) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { mkdirat(directory, path, mode) })
}

func system_symlinkat(_ text: UnsafePointer<CChar>, _ directory: Int32, _ path: UnsafePointer<CChar>) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { symlinkat(text, directory, path) })
}

func system_linkat(_ fromDirectory: Int32, _ from: UnsafePointer<CChar>, _ toDirectory: Int32, _ to: UnsafePointer<CChar>) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { linkat(fromDirectory, from, toDirectory, to, 0) })
}

func system_renameat(_ fromDirectory: Int32, _ from: UnsafePointer<CChar>, _ toDirectory: Int32, _ to: UnsafePointer<CChar>) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { renameat(fromDirectory, from, toDirectory, to) })
}

func system_unlinkat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ flags: Int32) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { unlinkat(directory, path, flags) })
}

func system_unlink(_ path: UnsafePointer<CChar>) -> Result<Void, Errno> { discarding(retryingOnInterrupt { unlink(path) }) }

func system_utimensat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ times: UnsafePointer<timespec>, _ flags: Int32) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { utimensat(directory, path, times, flags) })
}

func system_fchownat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ uid: uid_t, _ gid: gid_t, _ flags: Int32) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { fchownat(directory, path, uid, gid, flags) })
}

/// Every symlink of `path` resolved; the file must exist.
func system_realpath(_ path: UnsafePointer<CChar>) -> Result<String, Errno> {
    var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard realpath(path, &resolved) != nil else { return .failure(.current) }
    return .success(String(cString: resolved))
}

func system_readlink(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
    retryingOnInterrupt { readlink(path, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count) }
}

func system_readlinkat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
    retryingOnInterrupt { readlinkat(directory, path, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count) }
}

func system_getrandom(_ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
    retryingOnInterrupt { kseal_getrandom(buffer.baseAddress, buffer.count) }
}

/// Whether process `pid` exists (one we may not signal exists too).
func system_processExists(_ pid: pid_t) -> Bool {
    switch retryingOnInterrupt({ kill(pid, 0) }) {
    case .success: return true
    case .failure(let errno): return errno == .permissionDenied
    }
}

/// The next entry of an open directory stream; nil at its end.
func system_readdir(_ stream: OpaquePointer) -> Result<UnsafeMutablePointer<dirent>?, Errno> {
    errno = 0
    if let entry = readdir(stream) { return .success(entry) }
    return errno == 0 ? .success(nil) : .failure(.current)
}

// MARK: Format v2: extended attributes, holes, special files

func system_llistxattr(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
    retryingOnInterrupt { kseal_llistxattr(path, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count) }
}

func system_lgetxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
    retryingOnInterrupt { kseal_lgetxattr(path, name, buffer.baseAddress, buffer.count) }
}

func system_lsetxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeRawBufferPointer) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { kseal_lsetxattr(path, name, value.baseAddress, value.count) })
}

func system_fsetxattr(_ fd: Int32, _ name: UnsafePointer<CChar>, _ value: UnsafeRawBufferPointer) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { kseal_fsetxattr(fd, name, value.baseAddress, value.count) })
}

func system_fchmodat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ mode: mode_t) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { fchmodat(directory, path, mode, 0) })
}

func system_lseek(_ fd: Int32, _ offset: Int64, _ whence: Int32) -> Result<Int64, Errno> {
    retryingOnInterrupt { Int64(lseek(fd, off_t(offset), whence)) }
}

func system_mknodat(_ directory: Int32, _ path: UnsafePointer<CChar>, _ mode: mode_t, _ device: UInt64) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { mknodat(directory, path, mode, dev_t(device)) })
}

func system_ftruncate(_ fd: Int32, _ length: Int64) -> Result<Void, Errno> {
    discarding(retryingOnInterrupt { ftruncate(fd, off_t(length)) })
}
