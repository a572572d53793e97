#if canImport(Glibc)
import Glibc
#endif

/// Why the kernel cannot serve an algorithm through AF_ALG, in words a person can act on.
public struct Unavailability: Sendable, CustomStringConvertible {
    /// The step that failed: `socket`, `bind`, `setkey`, `accept` or `self-test`.
    public let step: String
    public let errno: Errno?
    public let reason: String

    public var description: String { reason }
}

public enum AFAlgAvailability {
    /// `/proc/sys/crypto/af_alg_restrict` (Linux 7.3 and later), if the kernel has it.
    public static func restrictLevel() -> Int? {
        readTextFile("/proc/sys/crypto/af_alg_restrict").flatMap { Int($0.filter { !$0.isWhitespace }) }
    }

    /// The AEADs Linux 7.3's `af_alg_restrict` still lets everyone bind (its allowlist).
    static let restrictAllowedAEADs: Set<String> = ["ccm(aes)"]

    /// Explains a failed AF_ALG setup step.
    /// - Parameters:
    ///   - step: the call that failed.
    ///   - errno: what it returned.
    ///   - type: the transform type that was asked for.
    ///   - algorithm: the kernel algorithm name.
    public static func explain(step: String, errno: Errno, type: AlgType, algorithm: String) -> Unavailability {
        let level = restrictLevel()
        let restrict = level.map { " (/proc/sys/crypto/af_alg_restrict is \($0))" } ?? ""
        let reason: String
        switch (step, errno) {
        case ("bind", .noSuchFileOrDirectory) where (level ?? 0) >= 1 && type == .aead && !restrictAllowedAEADs.contains(algorithm):
            // Measured on Debian's 7.3.4: with the setting at 1 (its default) only allowlisted AEADs
            // bind; gcm(aes) gets ENOENT although its modules are loaded.
            reason = "bind(\(algorithm)) failed with ENOENT: refused by /proc/sys/crypto/af_alg_restrict = \(level ?? 0) (Linux 7.3 and later serve only ccm(aes) among AEADs through AF_ALG by default; as root, 'sysctl crypto.af_alg_restrict=0' allows \(algorithm))"
        case ("socket", .addressFamilyNotSupported):
            reason = "socket(AF_ALG) failed with EAFNOSUPPORT: this kernel has no AF_ALG (CONFIG_CRYPTO_USER_API, module af_alg not loaded), or /proc/sys/crypto/af_alg_restrict is 2\(restrict)"
        case ("socket", .notPermitted), ("socket", .permissionDenied):
            reason = "socket(AF_ALG) failed with \(errno.name): blocked by a seccomp filter or security module; container runtimes deny AF_ALG by default since 2026"
        case ("bind", .noSuchFileOrDirectory):
            reason = "bind(\(algorithm)) failed with ENOENT: the kernel has no \(algorithm) for AF_ALG (module algif_aead/algif_hash or the algorithm's module missing), or it is refused by af_alg_restrict on Linux 7.3 and later\(restrict)"
        case ("bind", .notPermitted), ("bind", .permissionDenied):
            reason = "bind(\(algorithm)) failed with \(errno.name): restricted AF_ALG needs CAP_NET_ADMIN for this algorithm\(restrict)"
        default:
            reason = "\(step) for \(algorithm) failed with \(errno)"
        }
        return Unavailability(step: step, errno: errno, reason: reason)
    }

    /// Checks that the kernel serves `algorithm` of `type` through AF_ALG, up to an operation socket.
    /// - Returns: nil when available, else why not.
    public static func check(type: AlgType, algorithm: String) -> Unavailability? {
        do {
            let transform = try AlgSocket.transform(type: type, name: algorithm)
            if type == .aead {
                let key = [UInt8](repeating: 0, count: 32)
                try key.withUnsafeBytes { try transform.setOption(.setKey, bytes: $0, what: "ALG_SET_KEY") }
            } else if algorithm.hasPrefix("hmac(") {
                let key = [UInt8](repeating: 0, count: 32)
                try key.withUnsafeBytes { try transform.setOption(.setKey, bytes: $0, what: "ALG_SET_KEY") }
            }
            _ = try transform.accept()
            return nil
        } catch let error as AFAlgError {
            return Unavailability(step: error.syscall ?? "setup", errno: error.errno, reason: error.message)
        } catch {
            return Unavailability(step: "setup", errno: nil, reason: "\(error)")
        }
    }
}
