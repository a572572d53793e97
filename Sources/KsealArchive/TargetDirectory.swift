import CSystemShim
#if canImport(Glibc)
import Glibc
#endif

/// The directory extraction writes into, reached only through descriptors opened with
/// `O_NOFOLLOW` one component at a time, so no symlink, whether from the archive or already on
/// disk, can lead a write outside it. Each directory that was there before this run is swept of
/// abandoned part files (``PartFiles``) the first time it is reached.
final class TargetDirectory {
    let root: SystemFile
    /// Absolute path, for messages and for removing temporary files on a signal.
    let rootPath: String
    private var parents: [[UInt8]: SystemFile] = [:]
    private var swept: Set<[UInt8]> = []

    init(path: String) throws {
        do {
            root = try SystemFile.open(path, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        } catch let error as ArchiveError {
            throw ArchiveError(.io, "cannot use \(path) as the target directory: \(error.message)", cause: error)
        }
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        rootPath = realpath(path, &resolved) != nil ? String(cString: resolved) : path
        PartFiles.sweep(root)
    }

    /// The directory that holds `path`, and the last component's name. Missing parent directories
    /// are created (mode 0755 before umask).
    /// - Throws: ``ArchiveError`` `.unsafe` when a component is a symlink or not a directory.
    func parent(of path: [UInt8]) throws -> (directory: SystemFile, name: [UInt8], parentPath: [UInt8]) {
        let components = path.split(separator: UInt8(ascii: "/")).map(Array.init)
        let parentPath = Array(components.dropLast().joined(separator: [UInt8(ascii: "/")]))
        let name = components.last ?? []
        if let cached = parents[parentPath] { return (cached, name, parentPath) }
        var current = root
        var walked: [UInt8] = []
        for component in components.dropLast() {
            walked += walked.isEmpty ? component : [UInt8(ascii: "/")] + component
            if let cached = parents[walked] { current = cached; continue }
            current = try openDirectory(component, in: current, shownAs: walked, create: true)
            if parents.count > 256 { parents.removeAll() }
            parents[walked] = current
        }
        return (current, name, parentPath)
    }

    /// The directory at `parentPath` (empty for the root), as ``parent(of:)`` reaches it.
    func directory(at parentPath: [UInt8]) throws -> SystemFile {
        try parent(of: parentPath + [UInt8(ascii: "/"), UInt8(ascii: ".")]).directory
    }

    /// Opens (creating if asked) one directory component without following links.
    func openDirectory(_ name: [UInt8], in directory: SystemFile, shownAs: [UInt8], create: Bool, mode: mode_t = 0o755) throws -> SystemFile {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        for attempt in 0..<2 {
            let fd = withCPath(name) { openat(directory.descriptor, $0, flags) }
            if fd >= 0 {
                let opened = SystemFile(descriptor: fd, path: display(shownAs))
                // Directories this run made (attempt 1) hold no one else's parts.
                if swept.insert(shownAs).inserted && attempt == 0 { PartFiles.sweep(opened) }
                return opened
            }
            let code = errno
            switch code {
            case ENOENT where create && attempt == 0:
                let made = withCPath(name) { mkdirat(directory.descriptor, $0, mode) }
                if made != 0 && errno != EEXIST { throw ioError("mkdir", shownAs) }
            case ELOOP, ENOTDIR:
                throw ArchiveError(.unsafe, "refusing to write through \(display(shownAs)): it is a symbolic link or not a directory")
            default:
                throw ioError("open", shownAs, code)
            }
        }
        throw ioError("open", shownAs)
    }

    /// The absolute path of the directory `parentPath` (for messages and signal cleanup).
    func absolutePath(of parentPath: [UInt8]) -> String {
        parentPath.isEmpty ? rootPath : rootPath + "/" + display(parentPath)
    }

    func ioError(_ call: String, _ path: [UInt8], _ code: Int32 = errno) -> ArchiveError {
        let error = SystemError(call: call, path: display(path), errno: code)
        return ArchiveError(.io, error.description, cause: error)
    }
}
