/// An error from the AF_ALG layer: what kind of failure, which call failed, and the kernel's errno.
///
/// Shaped like swift-nio's `FileSystemError`: a small `code` to switch on, a message a person can
/// read, and the underlying cause.
public struct AFAlgError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// AF_ALG itself, or the algorithm, cannot be used on this system (see ``Unavailability``).
        case unavailable
        /// The authentication tag did not verify (`EBADMSG`).
        case authenticationFailed
        /// The message does not fit one AF_ALG operation on this socket.
        case messageTooLarge
        /// A key, nonce, tag size or buffer had the wrong length.
        case invalidArgument
        /// The kernel does not support the requested feature (e.g. keyring keys before Linux 6.2).
        case unsupported
        /// Any other failure of a syscall, or a short transfer.
        case systemCall
    }

    public let code: Code
    public let message: String
    /// The syscall that failed, if one did.
    public let syscall: String?
    public let errno: Errno?

    init(_ code: Code, _ message: String, syscall: String? = nil, errno: Errno? = nil) {
        self.code = code
        self.message = message
        self.syscall = syscall
        self.errno = errno
    }

    /// Maps a failed syscall to an error with the right code.
    static func syscall(_ name: String, _ errno: Errno, context: String) -> AFAlgError {
        let code: Code
        switch errno {
        case .badMessage: code = .authenticationFailed
        case .addressFamilyNotSupported, .notPermitted, .permissionDenied, .noSuchFileOrDirectory:
            code = .unavailable
        default: code = .systemCall
        }
        return AFAlgError(code, "\(context): \(name) failed with \(errno)", syscall: name, errno: errno)
    }

    /// A failed `socket` or `bind`, explained by ``AFAlgAvailability/explain(step:errno:type:algorithm:)``.
    static func setup(_ step: String, _ errno: Errno, type: AlgType, algorithm: String) -> AFAlgError {
        let code: Code = errno == .invalidArgument ? .invalidArgument : .unavailable
        let reason = AFAlgAvailability.explain(step: step, errno: errno, type: type, algorithm: algorithm).reason
        return AFAlgError(code, reason, syscall: step, errno: errno)
    }

    public var description: String { message }
}
