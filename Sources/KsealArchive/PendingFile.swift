#if canImport(Glibc)
import Glibc
#endif

/// A private scratch file that has no name: it vanishes when closed, even after `kill -9`.
func unlinkedTemporaryFile(in directory: String) throws -> SystemFile {
    let parent = try SystemFile.open(directory, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if case .success(let fd) = system_open_unnamed(parent.descriptor, 0o600) {
        return SystemFile(descriptor: fd, path: "scratch file in \(directory)")
    }
    // File systems without O_TMPFILE: a named file, unlinked at once. Errors name the directory
    // the user chose (TMPDIR, the archive's), not the scratch name nobody asked for.
    let name = ".kseal-scratch-\(TemporaryFiles.suffix())"
    let file = try SystemFile.open(at: parent, name: Array(name.utf8), flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: 0o600,
                                   shownAs: directory)
    try system_unlink(directory + "/" + name).orThrow("unlink", directory)
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
        if case .success(let fd) = system_open_unnamed(directory.descriptor, mode) {
            // Claimed (PartFiles) only if it ever needs a part name: most never do.
            file = SystemFile(descriptor: fd, path: directoryPath)
            return
        }
        let hidden = PartFiles.name()
        hiddenName = hidden
        token = TemporaryFiles.register(directoryPath + "/" + display(hidden))
        do {
            file = try SystemFile.open(at: directory, name: hidden, flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: mode,
                                       shownAs: directoryPath)
            PartFiles.claim(file)
        } catch {
            TemporaryFiles.unregister(token)
            throw error
        }
    }

    /// Gives the file its name, replacing whatever had it (a file or a symlink, never followed).
    ///
    /// An unnamed file whose name is free is linked straight to it: as atomic as a rename (the
    /// name appears with the whole file behind it) and two to four syscalls fewer per file
    /// (no random part name, no lock, no rename), which is most files of an extraction. Where
    /// the name is taken, it goes through a part name and a rename over it.
    func publish(as name: [UInt8], shownAs: String) throws {
        if hiddenName == nil {
            switch directory.link(unnamed: file, as: name) {
            case .success: return
            case .failure(let errno) where errno.rawValue != EEXIST: throw ArchiveError.system("linkat", shownAs, errno)
            case .failure: break
            }
            // Claimed before it has a name another writer could sweep.
            PartFiles.claim(file)
            let hidden = PartFiles.name()
            token = TemporaryFiles.register(directoryPath + "/" + display(hidden))
            if case .failure(let errno) = directory.link(unnamed: file, as: hidden) {
                TemporaryFiles.unregister(token)
                token = nil
                throw ArchiveError.system("linkat", shownAs, errno)
            }
            hiddenName = hidden
        }
        try directory.rename(hiddenName!, to: name).orThrow("rename", shownAs)
        hiddenName = nil
        TemporaryFiles.unregister(token)
        token = nil
    }

    deinit {
        // Best effort: a name that cannot be removed now is swept by the next writer (PartFiles).
        if let hiddenName { _ = directory.remove(hiddenName) }
        TemporaryFiles.unregister(token)
    }
}

/// A whole file (the archive) written as a ``PendingFile`` and published at ``commit()``.
final class AtomicOutput {
    let path: String
    private let pending: PendingFile
    private let directory: SystemFile
    var file: SystemFile { pending.file }

    /// - Parameter replaced: the regular file `path` names now, if any. The new file gets its
    ///   mode and owner, as if it had been rewritten in place: an archive kept 0600, or owned by
    ///   a service user, stays so whatever the umask. An owner that cannot be kept (EPERM) is an
    ///   error before anything is published.
    init(path: String, replacing replaced: FileStatus? = nil) throws {
        self.path = path
        let directoryPath = directoryName(path)
        directory = try SystemFile.open(directoryPath, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        PartFiles.sweep(directory)
        guard let replaced, case .regular = replaced.kind else {
            pending = try PendingFile(in: directory, directoryPath: directoryPath, mode: 0o666)
            return
        }
        pending = try PendingFile(in: directory, directoryPath: directoryPath, mode: 0o600)
        let created = try pending.file.status()
        if created.uid != replaced.uid || created.gid != replaced.gid {
            if case .failure(let errno) = system_fchown(pending.file.descriptor, replaced.uid, replaced.gid) {
                throw ArchiveError(.io, "\(path): cannot keep its owner \(replaced.uid):\(replaced.gid) in the new file: "
                                   + "\(String(cString: strerror(errno.rawValue))) (run as root or as its owner, or remove it first)")
            }
        }
        try pending.file.fchmod(replaced.mode)
    }

    /// Flushes the archive to disk, renames it over `path` and flushes the directory.
    func commit() throws {
        try file.sync()
        let name = Array((path.split(separator: "/").last.map(String.init) ?? path).utf8)
        try pending.publish(as: name, shownAs: path)
        try? directory.sync()
    }
}
