import CSystemShim
#if canImport(Glibc)
import Glibc
#endif

/// The directory extraction writes into, reached only through descriptors opened with
/// `O_NOFOLLOW` one component at a time, so no symlink, whether from the archive or already on
/// disk, can lead a write outside it. Each directory that was there before this run is swept of
/// abandoned part files (``PartFiles``) the first time it is reached.
///
/// With `followDirectorySymlinks` (`--keep-directory-symlink`), a symlink already in the target
/// that leads to a directory inside it is followed instead of refused (merged /usr: `bin ->
/// usr/bin`). Its text is resolved by name against where the link really is (absolute text against
/// the target, as inside a chroot), `..` never climbing above the target, and the result is walked
/// again from the root with `O_NOFOLLOW`, so following stays inside the target too.
final class TargetDirectory {
    let root: SystemFile
    /// Absolute path, for messages and for removing temporary files on a signal.
    let rootPath: String
    private let followDirectorySymlinks: Bool
    /// Directories reached, by archive path: the descriptor and the real path (components below
    /// the root, symlinks resolved) that followed links make differ from the archive path.
    private var parents: [[UInt8]: (file: SystemFile, real: [[UInt8]])] = [:]
    /// Real paths of the directories already swept of part files, '/'-joined (one allocation
    /// each, as there is one for every directory extraction reaches).
    private var swept: Set<[UInt8]> = []
    /// Symlinks followed in one walk at most, as the kernel's own limit (ELOOP).
    private static let maxLinks = 40

    init(path: String, followDirectorySymlinks: Bool = false) throws {
        self.followDirectorySymlinks = followDirectorySymlinks
        do {
            root = try SystemFile.open(path, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        } catch let error as ArchiveError {
            throw ArchiveError(.io, "cannot use \(path) as the target directory: \(error.message)", cause: error)
        }
        rootPath = (try? system_realpath(path).get()) ?? path
        PartFiles.sweep(root)
    }

    /// The directory that holds `path`, and the last component's name. Missing parent directories
    /// are created (mode 0755 before umask).
    /// - Throws: ``ArchiveError`` `.unsafe` when a component is a symlink or not a directory.
    func parent(of path: [UInt8]) throws -> (directory: SystemFile, name: [UInt8], parentPath: [UInt8]) {
        let (directory, _, name, parentPath) = try walkToParent(of: path)
        return (directory, name, parentPath)
    }

    /// The directory an entry of the archive names: opened (created with `mode` when missing
    /// and `create`) as ``parent(of:)`` reaches its parent.
    func openEntryDirectory(_ path: [UInt8], create: Bool, mode: mode_t = 0o755) throws -> SystemFile {
        let (parent, real, name, _) = try walkToParent(of: path)
        return try openDirectory(name, in: parent, real: real, shownAs: path, create: create, mode: mode).file
    }

    private func walkToParent(of path: [UInt8]) throws -> (directory: SystemFile, real: [[UInt8]], name: [UInt8], parentPath: [UInt8]) {
        let components = path.split(separator: UInt8(ascii: "/")).map(Array.init)
        let parentPath = Array(components.dropLast().joined(separator: [UInt8(ascii: "/")]))
        let name = components.last ?? []
        if let cached = parents[parentPath] { return (cached.file, cached.real, name, parentPath) }
        var current = root, real: [[UInt8]] = []
        var walked: [UInt8] = []
        for component in components.dropLast() {
            walked += walked.isEmpty ? component : [UInt8(ascii: "/")] + component
            if let cached = parents[walked] { (current, real) = cached; continue }
            (current, real) = try openDirectory(component, in: current, real: real, shownAs: walked, create: true)
            if parents.count > 256 { parents.removeAll() }
            parents[walked] = (current, real)
        }
        return (current, real, name, parentPath)
    }

    /// The directory at `parentPath` (empty for the root), as ``parent(of:)`` reaches it.
    func directory(at parentPath: [UInt8]) throws -> SystemFile {
        try parent(of: parentPath + [UInt8(ascii: "/"), UInt8(ascii: ".")]).directory
    }

    /// Opens (creating if asked) one directory component without following links, unless it is
    /// a symlink to follow (see the type's comment). `real` is `directory`'s real path.
    /// - Returns: the directory and its real path.
    private func openDirectory(_ name: [UInt8], in directory: SystemFile, real: [[UInt8]], shownAs: [UInt8], create: Bool,
                               mode: mode_t = 0o755, links: Int = 0) throws -> (file: SystemFile, real: [[UInt8]]) {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        for attempt in 0..<2 {
            let errno: Errno
            switch directory.open(name, flags: flags, shownAs: display(shownAs)) {
            case .success(let opened):
                // Directories this run made (attempt 1) hold no one else's parts.
                let realPath = Array((real + [name]).joined(separator: [UInt8(ascii: "/")]))
                if swept.insert(realPath).inserted && attempt == 0 { PartFiles.sweep(opened) }
                return (opened, real + [name])
            case .failure(let failure):
                errno = failure
            }
            switch errno {
            case .noSuchFileOrDirectory where create && attempt == 0:
                if case .failure(let failure) = directory.makeDirectory(name, mode: mode), failure != .fileExists {
                    throw ArchiveError.system("mkdir", display(shownAs), failure)
                }
            case .tooManySymbolicLinks, .notDirectory:
                if followDirectorySymlinks, case .success(let text) = directory.readLink(name) {
                    return try follow(text, from: real, shownAs: shownAs, links: links + 1)
                }
                throw ArchiveError(.unsafe, "refusing to write through \(display(shownAs)): it is a symbolic link or not a directory"
                    + (followDirectorySymlinks ? "" : " (--keep-directory-symlink follows links to directories inside the target)"))
            default:
                throw ArchiveError.system("open", display(shownAs), errno)
            }
        }
        throw ArchiveError(.io, "\(display(shownAs)): cannot open the directory just made")
    }

    /// Resolves a symlink's `text` found in the directory at real path `base` and opens the
    /// directory it names, walking from the root; nothing is created on the way.
    private func follow(_ text: [UInt8], from base: [[UInt8]], shownAs: [UInt8], links: Int) throws -> (file: SystemFile, real: [[UInt8]]) {
        let refuse = { (why: String) in
            ArchiveError(.unsafe, "refusing to write through \(display(shownAs)): its symbolic link to \(display(text)) \(why)")
        }
        guard links <= Self.maxLinks else { throw refuse("is one of too many links in a row") }
        var target = text.first == UInt8(ascii: "/") ? [] : base
        for part in text.split(separator: UInt8(ascii: "/")) where part != [UInt8(ascii: ".")][...] {
            if part.elementsEqual("..".utf8) {
                guard !target.isEmpty else { throw refuse("leads outside the target directory") }
                target.removeLast()
            } else {
                target.append(Array(part))
            }
        }
        var current = root, real: [[UInt8]] = []
        for part in target {
            do {
                (current, real) = try openDirectory(part, in: current, real: real, shownAs: shownAs, create: false, links: links)
            } catch let error as ArchiveError where error.code == .io {
                throw refuse("does not lead to a directory (\(error.message))")
            }
        }
        return (current, real)
    }

    /// The absolute path of the directory `parentPath` (for messages and signal cleanup).
    func absolutePath(of parentPath: [UInt8]) -> String {
        parentPath.isEmpty ? rootPath : rootPath + "/" + display(parentPath)
    }
}
