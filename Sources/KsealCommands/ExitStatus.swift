#if canImport(Glibc)
import Glibc
#endif
import KsealArchive
import KsealCrypto

/// The documented exit statuses (kseal(1), EXIT STATUS). Errors become statuses here and only here.
public enum ExitStatus: Int32, CaseIterable, Sendable {
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

/// A command's end with a status other than 0, after it said why (damaged files, losses).
public struct CommandExit: Error, Sendable {
    public let status: ExitStatus
    public init(_ status: ExitStatus) { self.status = status }
}

public enum Failure {
    /// Prints a one-line message for `error` on stderr (and, for a command given `--json`, one
    /// JSON error object on stdout) and returns the exit status. Every command's errors come
    /// here, once, from each front end's `main`.
    public static func report(_ error: any Error, json: Bool) -> ExitStatus {
        if let exit = error as? CommandExit { return exit.status }
        let (status, message) = classify(error)
        Console.error(message)
        if json {
            Console.print(JSON.encode(.object([("ok", .bool(false)), ("status", .int(Int64(status.rawValue))),
                                               ("class", .string(status.className)), ("message", .string(message))])))
        }
        return status
    }

    /// Whether `error` is kseal's to report (the rest are ArgumentParser's).
    public static func handles(_ error: any Error) -> Bool { error is ArchiveError || error is CryptoError || error is CommandExit }

    public static func classify(_ error: any Error) -> (ExitStatus, String) {
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
    public var className: String {
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


