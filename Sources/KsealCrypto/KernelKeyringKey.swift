import AFAlg

/// A secret the kernel holds in a keyring (keyrings(7)) and uses through AF_ALG without ever
/// handing it to this process: `hmac(sha256)` is keyed from it by serial
/// (`ALG_SET_KEY_BY_KEY_SERIAL`, Linux 6.2 and later). A `logon` key cannot even be read back.
public final class KernelKeyringKey: @unchecked Sendable {
    public let serial: Int32
    /// How the user named it: its description (`kseal:fleet`) or its serial.
    public let name: String
    private let transform: HashTransform

    /// The key with this serial, keyed into a kernel `hmac(sha256)` transform at once, so a
    /// kernel without the feature, a missing key or one this process may not use fails here.
    /// - Throws: ``CryptoError``: `.unavailable` without AF_ALG, without the key, or before Linux 6.2.
    public init(serial: Int32, name: String? = nil) throws {
        self.serial = serial
        self.name = name ?? "serial \(serial)"
        do {
            transform = try HashTransform(algorithm: "hmac(sha256)", digestSize: 32, keySerial: serial)
        } catch let error as AFAlgError {
            let reason = switch error.errno {
            case .some(.noKey), .some(.keyRevoked), .some(.keyExpired): "no usable key \(serial) in this process's keyrings (\(error.errno!))"
            case .some(.permissionDenied), .some(.notPermitted): "this process may not use key \(serial) (\(error.errno!))"
            default: error.message
            }
            throw CryptoError(.unavailable, "kernel key \(name ?? String(serial)): \(reason)", cause: error)
        }
    }

    /// Finds a `logon` (else `user`) key by description in this process's keyrings, the user
    /// keyring and the persistent keyring, as `keyctl search` would.
    /// - Throws: ``CryptoError`` `.unavailable` when there is none, or it cannot be used.
    public static func find(description: String) throws -> KernelKeyringKey {
        let serial: Int32?
        do { serial = try KernelKeyring.search(description: description) } catch let error as AFAlgError { throw CryptoError(error) }
        guard let serial else {
            throw CryptoError(.unavailable, "kernel key \(description): no logon or user key of that description in this process's keyrings "
                + "(load one with: keyctl padd logon \(description) @u < KEYFILE)")
        }
        return try KernelKeyringKey(serial: serial, name: description)
    }

    /// An HMAC-SHA256 context keyed with this key, for the calling thread.
    public func makeHMACSHA256() throws -> any DigestContext {
        try translatingKernelErrors { try KernelDigest(transform.makeOperation(), size: 32) }
    }
}
