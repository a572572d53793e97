import AFAlg

/// A public key the kernel holds (an `asymmetric` key made from an X.509 certificate, in this
/// process's keyring) and checks ECDSA P-256 signatures with (keyctl `pkey_verify`).
public final class KernelSignatureKey: @unchecked Sendable {
    private let serial: Int32

    /// - Throws: ``CryptoError`` `.unavailable` with the kernel's reason (no `asymmetric` key type,
    ///   no ECDSA: Debian's 6.1 answers ENOENT, user-mode-linux ENODEV).
    public init(certificate: [UInt8]) throws {
        do {
            serial = try certificate.withUnsafeBytes {
                try KernelKeyring.add(type: .asymmetric, description: "kseal:trusted-signer", payload: $0, to: .process)
            }
        } catch let error as AFAlgError {
            throw CryptoError(.unavailable, "the kernel cannot hold the signing key: \(error.message)", cause: error)
        }
    }

    deinit { try? KernelKeyring.invalidate(serial: serial) }

    /// Whether `signature` (r ‖ s) is this key's over `digest` (SHA-256 of the message).
    public func isValid(signature: [UInt8], digest: [UInt8]) throws -> Bool {
        guard let der = ECDSAP256.derSignature(signature) else { return false }
        do {
            return try KernelKeyring.verify(serial: serial, encoding: "x962", hash: "sha256", digest: digest, signature: der)
        } catch let error as AFAlgError {
            throw CryptoError(.unavailable, "the kernel cannot check the signature: \(error.message)", cause: error)
        }
    }
}
