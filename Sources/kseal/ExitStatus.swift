import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import KsealArchive
import KsealCrypto

/// The documented exit statuses (kseal(1), EXIT STATUS). Errors become statuses here and only here.
enum ExitStatus: Int32, CaseIterable {
    case success = 0
    case damaged = 1
    case wrongKey = 2
    case ioError = 3
    case cryptoUnavailable = 4
    case unsupported = 5
    case refused = 6
    /// Completed with losses: extract restored every entry but not all metadata (format v2:
    /// xattrs, ACLs, devices), or create left out inputs (sockets; in format 1 devices, FIFOs
    /// and xattrs); one line per kind says what and how many.
    case restoredWithLosses = 7
    /// Not trusted: signing keys are trusted, and the archive is unsigned, signed by another
    /// key, or its signature does not verify; refused before its index is read.
    case untrusted = 8
    case usage = 64
    case internalError = 70
}

enum Failure {
    /// Prints a one-line message for `error` on stderr (and, for a command given `--json`, one
    /// JSON error object on stdout) and returns the exit code. Every command's errors come here,
    /// once, from ``Kseal/main()``.
    static func report(_ error: any Error, json: Bool) -> ExitCode {
        if let code = error as? ExitCode { return code }
        let (status, message) = classify(error)
        Console.error(message)
        if json {
            Console.print(JSON.encode(.object([("ok", .bool(false)), ("status", .int(Int64(status.rawValue))),
                                               ("class", .string(status.className)), ("message", .string(message))])))
        }
        return ExitCode(status.rawValue)
    }

    /// Whether `error` is kseal's to report (the rest are ArgumentParser's).
    static func handles(_ error: any Error) -> Bool { error is ArchiveError || error is CryptoError || error is ExitCode }

    static func classify(_ error: any Error) -> (ExitStatus, String) {
        if let error = error as? ArchiveError {
            let status: ExitStatus = switch error.code {
            case .damaged: .damaged
            case .wrongKey: .wrongKey
            case .io: .ioError
            case .cryptoUnavailable: .cryptoUnavailable
            case .unsupported: .unsupported
            case .unsafe: .refused
            case .untrusted: .untrusted
            case .usage: .usage
            case .internal: .internalError
            }
            return (status, error.message)
        }
        if let error = error as? CryptoError {
            // Through the archive layer's one table, so a crypto error means the same everywhere.
            let (status, message) = classify(ArchiveError.crypto(error, "crypto"))
            return (status, status == .cryptoUnavailable ? "crypto backend unavailable: \(message)" : message)
        }
        return (.internalError, "\(error)")
    }
}

extension ExitStatus {
    /// The `class` of a `--json` error object.
    var className: String {
        switch self {
        case .success: "ok"
        case .damaged: "damaged"
        case .wrongKey: "wrong_key"
        case .ioError: "io_error"
        case .cryptoUnavailable: "crypto_unavailable"
        case .unsupported: "unsupported"
        case .refused: "refused"
        case .restoredWithLosses: "completed_with_losses"
        case .untrusted: "not_trusted"
        case .usage: "usage"
        case .internalError: "internal"
        }
    }
}

/// Commands with a `--json` flag: their failures are also reported as a JSON object on stdout.
protocol JSONReporting {
    var json: Bool { get }
}

/// stderr output, one line per message, prefixed with the program name.
enum Console {
    static func error(_ message: String) {
        writeError("kseal: \(message)\n")
    }

    static func warn(_ message: String) { error("warning: \(message)") }

    /// Raw bytes to stdout (paths may not be UTF-8).
    static func write(_ bytes: [UInt8]) {
        writeAll(bytes, to: STDOUT_FILENO)
    }

    /// Text to stderr as it is (progress lines carry their own control characters).
    static func writeError(_ text: String) { writeAll(Array(text.utf8), to: STDERR_FILENO) }

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
    static func finishStandardOutput() throws {
        if fflush(nil) != 0, standardOutputError == 0 { standardOutputError = errno != 0 ? errno : EIO }
        guard standardOutputError != 0 else { return }
        throw ArchiveError(.io, "cannot write to standard output: \(String(cString: strerror(standardOutputError)))")
    }

    static func print(_ line: String) { write(Array((line + "\n").utf8)) }
}
