#if canImport(Glibc)
import Glibc
#endif

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
    /// The file type bits (`st_mode & S_IFMT`) and, for devices, the device number.
    let fileType: mode_t
    let rdev: UInt64

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
        fileType = st.st_mode & S_IFMT
        rdev = UInt64(st.st_rdev)
    }

    /// `lstat`: never follows a final symlink.
    static func of(_ path: [UInt8]) throws -> FileStatus {
        var st = stat()
        try withCPath(path) { system_lstat($0, &st) }.orThrow("lstat", display(path))
        return FileStatus(st)
    }

    var identity: FileIdentity { FileIdentity(device: device, inode: inode) }

    /// The format v2 entry kind of a device or FIFO; nil for everything else.
    var specialKind: EntryKind? {
        switch fileType {
        case S_IFCHR: .characterDevice
        case S_IFBLK: .blockDevice
        case S_IFIFO: .fifo
        default: nil
        }
    }
}

/// A file's identity on its file system, to find hard links.
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64
}
