#if canImport(Glibc)
import Glibc
#endif

/// Part files: the hidden names (`.PID-RANDOM.kseal-part`) a file being written has between
/// `linkat` and `renameat` when it is published, or for its whole life where the file system has
/// no `O_TMPFILE`. A writer killed outright (SIGKILL, power loss) in that window leaves one behind.
///
/// Each writer holds an exclusive `flock` on its file from before it has any name until it closes
/// it, so the lock tells whether a writer is alive, on this machine or (over NFS) another one. The
/// next writer in a directory removes the parts whose lock is free and whose writer's process, by
/// the PID in the name, is gone (the PID also covers the moment between creating a fallback part
/// and locking it). A part that cannot be proven abandoned is left alone.
enum PartFiles {
    static let suffix = ".kseal-part"

    /// A fresh part name carrying this process's PID.
    static func name() -> [UInt8] {
        Array(".\(getpid())-\(TemporaryFiles.suffix())\(suffix)".utf8)
    }

    /// Takes the writer's lock on a new file. A new inode has no other holder, so this only fails
    /// where the file system has no locks; the PID in the name still protects the part then.
    static func claim(_ file: SystemFile) {
        _ = file.lock()
    }

    /// The writer's PID in a part name, or nil if `name` is not a part name of this form.
    static func writer(of name: [UInt8]) -> pid_t? {
        guard name.first == UInt8(ascii: "."), name.count > suffix.utf8.count + 3,
              name.suffix(suffix.utf8.count).elementsEqual(suffix.utf8) else { return nil }
        let digits = name.dropFirst().prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !digits.isEmpty, digits.count <= 10, name[name.startIndex + 1 + digits.count] == UInt8(ascii: "-") else { return nil }
        return pid_t(String(decoding: digits, as: UTF8.self))
    }

    /// Removes the abandoned parts in `directory`. Never throws: an unreadable directory or a part
    /// that cannot be checked is left as it is.
    static func sweep(_ directory: SystemFile) {
        guard let names = try? directoryEntries(of: directory) else { return }
        for name in names {
            guard let pid = writer(of: name), !isRunning(pid) else { continue }
            removeIfUnclaimed(name, in: directory)
        }
    }

    /// True when `pid` names a live process here (one we may not signal is alive too).
    private static func isRunning(_ pid: pid_t) -> Bool {
        pid == getpid() || system_processExists(pid)
    }

    private static func removeIfUnclaimed(_ name: [UInt8], in directory: SystemFile) {
        guard case .success(let named) = directory.status(of: name) else { return }
        switch named.st_mode & S_IFMT {
        case S_IFLNK:
            // A symlink being extracted: nothing to lock; its writer's PID is gone.
            break
        case S_IFREG:
            let shownAs = directory.path + "/" + display(name)
            guard case .success(let part) = directory.open(name, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, shownAs: shownAs),
                  case .success = part.lock() else { return }
            // Remove the name only while it is still the file we hold locked.
            guard let opened = try? part.status(), opened.device == UInt64(named.st_dev), opened.inode == UInt64(named.st_ino) else { return }
        default:
            return
        }
        // A failure (the part gone meanwhile, a read-only directory) leaves it for a later run.
        _ = directory.remove(name)
    }
}
