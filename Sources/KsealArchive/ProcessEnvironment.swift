import CSystemShim
#if canImport(Glibc)
import Glibc
#endif

public enum ProcessEnvironment {
    /// Caps glibc's heap arenas at `count`. Each thread that allocates otherwise gets an arena
    /// of its own, which keeps memory its thread freed: with the pipeline's threads that was
    /// 6 MiB of create's peak RSS (measured with MALLOC_ARENA_MAX), and two arenas cost no
    /// measurable speed. Call before starting threads.
    public static func limitMallocArenas(_ count: Int) {
        // Returns 0 only where glibc's mallopt refuses, and then nothing is to be done about it.
        _ = kseal_limit_malloc_arenas(Int32(count))
    }

    static var temporaryDirectory: String {
        if let dir = getenv("TMPDIR"), dir.pointee != 0 { return String(cString: dir) }
        return "/tmp"
    }
}
