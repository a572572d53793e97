import AFAlg

/// An error from a crypto backend. Both backends throw the same codes for the same conditions.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The requested backend cannot run here; the message says why.
        case unavailable
        /// A tag did not verify: wrong key, or data, nonce or AAD altered.
        case authenticationFailed
        /// The message exceeds what one operation of this backend can process.
        case messageTooLarge
        /// A key, nonce, AAD or buffer of the wrong size.
        case invalidArgument
        /// The backend cannot do this on this system (e.g. keyring keys before Linux 6.2).
        case unsupported
        /// Any other failure (a syscall, a short transfer).
        case failure
    }

    public let code: Code
    public let message: String
    /// The underlying error (an ``AFAlgError`` for the kernel backend), if any.
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    init(_ error: AFAlgError) {
        let code: Code = switch error.code {
        case .unavailable: .unavailable
        case .authenticationFailed: .authenticationFailed
        case .messageTooLarge: .messageTooLarge
        case .invalidArgument: .invalidArgument
        case .unsupported: .unsupported
        case .systemCall: .failure
        }
        self.init(code, error.message, cause: error)
    }
}

/// Runs `body`, translating AF_ALG errors into ``CryptoError``.
@inline(__always)
func translatingKernelErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as AFAlgError { throw CryptoError(error) }
}
