#if canImport(Glibc)
import Glibc
#endif
import KsealArchive

/// stderr output, one line per message, prefixed with the program name.
public enum Console {
    public static func error(_ message: String) {
        writeError("kseal: \(message)\n")
    }

    public static func warn(_ message: String) { error("warning: \(message)") }

    /// Raw bytes to stdout (paths may not be UTF-8).
    public static func write(_ bytes: [UInt8]) {
        writeAll(bytes, to: STDOUT_FILENO)
    }

    /// Text to stderr as it is (progress lines carry their own control characters).
    public static func writeError(_ text: String) { writeAll(Array(text.utf8), to: STDERR_FILENO) }

    /// The first error writing to standard output, reported by ``finishStandardOutput()``.
    nonisolated(unsafe) private static var standardOutputError: Int32 = 0

    /// Writes everything, retrying short writes and EINTR. A failed write to standard output is
    /// remembered, so the command ends with status 3 instead of looking successful (a closed pipe
    /// ends the process through SIGPIPE before that, as for any filter); stderr errors are dropped.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = Glibc.write(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    if descriptor == STDOUT_FILENO && standardOutputError == 0 { standardOutputError = n < 0 ? errno : EIO }
                    return
                }
                done += n
            }
        }
    }

    /// Flushes what Swift's `print` buffered and throws an I/O error if any write to standard
    /// output failed (a full disk, `/dev/full`).
    public static func finishStandardOutput() throws {
        if fflush(nil) != 0, standardOutputError == 0 { standardOutputError = errno != 0 ? errno : EIO }
        guard standardOutputError != 0 else { return }
        throw ArchiveError(.io, "cannot write to standard output: \(String(cString: strerror(standardOutputError)))")
    }

    public static func print(_ line: String) { write(Array((line + "\n").utf8)) }
}
