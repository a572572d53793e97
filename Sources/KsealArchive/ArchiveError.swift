import KsealCrypto

/// An error from reading or writing an archive: a code the CLI maps to an exit status, a
/// one-line message, and the underlying cause.
public struct ArchiveError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The archive is damaged, truncated, altered or not a kseal archive.
        case damaged
        /// No key slot opens with the given key.
        case wrongKey
        /// A newer format version, or an unknown cipher suite or compression.
        case unsupported
        /// Reading or writing the file system failed.
        case io
        /// The request itself is wrong: a bad path argument, an unreadable key file.
        case usage
        /// The index asks for something kseal refuses to do (a hostile path, a link outside the target).
        case unsafe
        /// The crypto backend is unavailable.
        case cryptoUnavailable
        /// Signing keys are trusted and the archive is not signed by one of them (unsigned,
        /// signed by another key, or a signature that does not verify).
        case untrusted
        /// A bug or resource failure inside kseal.
        case `internal`
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}

extension ArchiveError {
    /// Wraps a ``CryptoError`` met while processing `what`.
    /// The one table from crypto errors to outcomes (the CLI maps outcomes to exit statuses).
    public static func crypto(_ error: CryptoError, _ what: String) -> ArchiveError {
        switch error.code {
        case .authenticationFailed: ArchiveError(.damaged, "\(what): authentication failed", cause: error)
        case .unavailable: ArchiveError(.cryptoUnavailable, error.message, cause: error)
        case .unsupported: ArchiveError(.unsupported, "\(what): \(error.message)", cause: error)
        case .messageTooLarge, .invalidArgument, .failure: ArchiveError(.internal, "\(what): \(error.message)", cause: error)
        }
    }
}
