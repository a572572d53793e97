import CSystemShim
#if canImport(Glibc)
import Glibc
#endif

/// Files that must not survive an interrupted run: partial archives and files being extracted.
///
/// Paths are kept as C strings in a fixed table so a signal handler can unlink them without
/// allocating (only async-signal-safe calls happen in the handler).
public enum TemporaryFiles {
    private static let capacity = 1024
    nonisolated(unsafe) private static let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        table.initialize(repeating: nil, count: capacity)
        return table
    }()
    nonisolated(unsafe) private static var lock = pthread_mutex_t()
    nonisolated(unsafe) private static var lockReady: Bool = {
        pthread_mutex_init(&lock, nil)
        return true
    }()

    /// Removes registered files and exits 130 on SIGINT, SIGTERM and SIGHUP.
    public static func installSignalHandlers() {
        // Initialize the lazy statics now: the handler must not be the first to touch them.
        _ = lockReady
        _ = table
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { number in
                for i in 0..<TemporaryFiles.capacity {
                    if let path = TemporaryFiles.table[i] { unlink(path) }
                }
                _exit(128 + number)
            }
        }
    }

    /// Registers `path` for removal on a signal; returns a token for ``unregister(_:)``.
    static func register(_ path: String) -> Int? {
        _ = lockReady
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        for i in 0..<capacity where table[i] == nil {
            table[i] = strdup(path)
            return i
        }
        return nil
    }

    static func unregister(_ token: Int?) {
        guard let token else { return }
        pthread_mutex_lock(&lock)
        let path = table[token]
        table[token] = nil
        pthread_mutex_unlock(&lock)
        free(path)
    }

    /// A random suffix for temporary names.
    static func suffix() -> String {
        let bytes = (try? SecureRandom.bytes(6)) ?? [UInt8](repeating: 0, count: 6)
        return bytes.map { String($0, radix: 16) }.joined()
    }
}

/// A temporary file that SQLite opens by name (it cannot open an unnamed one: it resolves
/// /proc/self/fd links to the deleted file's name): a part name (``PartFiles``) in `directory`,
/// created exclusively with mode 0600, locked as parts are, and removed on a signal. The caller
/// calls ``unlink()`` as soon as SQLite has it open, so it outlives kseal only after a SIGKILL
/// in that moment (a reader writing a large index image into `$TMPDIR`); the next kseal that
/// makes one in the directory, or writes there, sweeps it as any abandoned part. The caller
/// keeps `file` to read it through.
final class NamedScratchFile {
    let path: String
    let file: SystemFile
    private var token: Int?
    private var linked = true

    init(in directory: String) throws {
        let name = PartFiles.name()
        path = directory + "/" + String(decoding: name, as: UTF8.self)
        let parent = try SystemFile.open(directory, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        PartFiles.sweep(parent)
        token = TemporaryFiles.register(path)
        do {
            file = try SystemFile.open(at: parent, name: name, flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: 0o600,
                                       shownAs: directory)
        } catch {
            TemporaryFiles.unregister(token)
            throw error
        }
        PartFiles.claim(file)
    }

    deinit { unlink() }

    /// Removes the name (the file lives on while open). Idempotent.
    func unlink() {
        guard linked else { return }
        linked = false
        _ = system_unlink(path)  // best effort: a name left behind is a part the next writer sweeps
        TemporaryFiles.unregister(token)
    }
}
