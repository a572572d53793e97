import CAFAlg
#if canImport(Glibc)
import Glibc
#endif

/// Keys held by the kernel (keyrings(7)), which AF_ALG transforms can be keyed from by serial
/// (`ALG_SET_KEY_BY_KEY_SERIAL`, Linux 6.2 and later).
///
/// A `logon` key can be used by the kernel but never read back by user space, so a key loaded
/// once (`keyctl padd logon kseal:NAME @u < key`) never enters kseal's memory again.
public enum KernelKeyring {
    /// The key types AF_ALG takes (`trusted` and `encrypted` too, where the kernel has them).
    public struct KeyType: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Readable by its possessor.
        public static let user = KeyType(rawValue: "user")
        /// Usable by the kernel only; its description needs a `service:` prefix.
        public static let logon = KeyType(rawValue: "logon")
        /// A public key, from an X.509 certificate (keyctl `pkey_*` operations).
        public static let asymmetric = KeyType(rawValue: "asymmetric")
    }

    /// A special keyring to add a key to (`KEY_SPEC_*`).
    public struct Keyring: RawRepresentable, Hashable, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// This process's keyring: the key goes away with the process.
        public static let process = Keyring(rawValue: KEY_SPEC_PROCESS_KEYRING)
        public static let session = Keyring(rawValue: KEY_SPEC_SESSION_KEYRING)
        public static let user = Keyring(rawValue: KEY_SPEC_USER_KEYRING)
    }

    /// Adds (or updates) a key and returns its serial.
    public static func add(type: KeyType, description: String, payload: UnsafeRawBufferPointer, to keyring: Keyring) throws -> Int32 {
        switch system_add_key(type.rawValue, description, payload, keyring.rawValue) {
        case .success(let serial): return Int32(truncatingIfNeeded: serial)
        case .failure(let errno): throw AFAlgError.syscall("add_key", errno, context: "cannot add the \(type.rawValue) key '\(description)'")
        }
    }

    /// Reads a key's payload; a `logon` key refuses (`EOPNOTSUPP`).
    public static func read(serial: Int32) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let result = buffer.withUnsafeMutableBytes {
            system_keyctl(KEYCTL_READ, UInt(bitPattern: Int(serial)), UInt(bitPattern: $0.baseAddress), UInt($0.count))
        }
        switch result {
        case .success(let length): return Array(buffer.prefix(min(length, buffer.count)))
        case .failure(let errno): throw AFAlgError.syscall("keyctl(KEYCTL_READ)", errno, context: "cannot read key \(serial)")
        }
    }

    /// Checks a signature with an `asymmetric` key (keyctl `pkey_verify`): `digest` is the
    /// message's hash, `signature` in `encoding` (`x962`: DER ECDSA).
    /// - Returns: false for a signature that does not verify (`EKEYREJECTED`, `EBADMSG`).
    public static func verify(serial: Int32, encoding: String, hash: String, digest: [UInt8], signature: [UInt8]) throws -> Bool {
        var parameters = keyctl_pkey_params()
        parameters.key_id = serial
        parameters.in_len = UInt32(digest.count)
        parameters.in2_len = UInt32(signature.count)
        let info = "enc=\(encoding) hash=\(hash)"
        let result = withUnsafePointer(to: &parameters) { p in
            info.withCString { i in
                digest.withUnsafeBytes { d in
                    signature.withUnsafeBytes { s in
                        system_keyctl(KEYCTL_PKEY_VERIFY, UInt(bitPattern: p), UInt(bitPattern: i), UInt(bitPattern: d.baseAddress),
                                      UInt(bitPattern: s.baseAddress))
                    }
                }
            }
        }
        switch result {
        case .success: return true
        case .failure(.keyRejected), .failure(.badMessage): return false
        case .failure(let errno): throw AFAlgError.syscall("keyctl(KEYCTL_PKEY_VERIFY)", errno, context: "cannot check a signature with key \(serial)")
        }
    }

    /// Invalidates a key: it is unlinked from every keyring and destroyed.
    public static func invalidate(serial: Int32) throws {
        if case .failure(let errno) = system_keyctl(KEYCTL_INVALIDATE, UInt(bitPattern: Int(serial))) {
            throw AFAlgError.syscall("keyctl(KEYCTL_INVALIDATE)", errno, context: "cannot invalidate key \(serial)")
        }
    }

    /// Finds a key by its description (`kseal:fleet`), as `keyctl search` would: `logon` keys
    /// before `user` keys, first in this process's keyrings (thread, process, session, and what
    /// they link, which in a login session includes the user keyring), then in the user keyring,
    /// then in the user's persistent keyring where the kernel has them.
    /// - Returns: the key's serial, or nil when no keyring of this process holds such a key.
    public static func search(description: String) throws -> Int32? {
        for type in [KeyType.logon, .user] {
            if let serial = try found(system_request_key(type.rawValue, description), "request_key", description) { return serial }
            var keyrings = [Int(KEY_SPEC_USER_KEYRING)]
            // The persistent keyring is linked into this process's keyring to be searched.
            if case .success(let persistent) = system_keyctl(KEYCTL_GET_PERSISTENT, UInt(bitPattern: -1), UInt(bitPattern: Int(KEY_SPEC_PROCESS_KEYRING))) {
                keyrings.append(persistent)
            }
            for keyring in keyrings {
                let result = type.rawValue.withCString { t in
                    description.withCString { d in
                        system_keyctl(KEYCTL_SEARCH, UInt(bitPattern: keyring), UInt(bitPattern: t), UInt(bitPattern: d))
                    }
                }
                if let serial = try found(result, "keyctl(KEYCTL_SEARCH)", description) { return serial }
            }
        }
        return nil
    }

    /// A search's serial; nil for "not here" (no key, or one revoked, expired or not ours to see).
    private static func found(_ result: Result<Int, Errno>, _ call: String, _ description: String) throws -> Int32? {
        switch result {
        case .success(let serial): return Int32(truncatingIfNeeded: serial)
        case .failure(.noKey), .failure(.keyRevoked), .failure(.keyExpired), .failure(.permissionDenied), .failure(.noSuchFileOrDirectory):
            return nil
        case .failure(let errno): throw AFAlgError.syscall(call, errno, context: "cannot search the keyrings for '\(description)'")
        }
    }

    /// Whether this kernel keys AF_ALG transforms from keyring keys, found without adding a key:
    /// the option is offered a serial that names no key. Before 6.2 the option is unknown
    /// (`ENOPROTOOPT`); from 6.2 the kernel looks the serial up and fails (`ENOKEY`).
    public static func setKeyBySerialSupport() -> Support {
        let transform: AlgSocket
        do {
            transform = try AlgSocket.transform(type: .hash, name: "hmac(sha256)")
        } catch {
            return .unknown("no AF_ALG hmac(sha256) transform to ask")
        }
        var serial = Int32.max
        let result = withUnsafeBytes(of: &serial) {
            system_setsockopt(transform.descriptor, SocketConstants.solAlg, AlgOption.setKeyByKeySerial.rawValue, $0.baseAddress, $0.count)
        }
        switch result {
        case .failure(.protocolNotAvailable):
            return .unsupported("ALG_SET_KEY_BY_KEY_SERIAL needs Linux 6.2 or later; this kernel answered ENOPROTOOPT")
        case .failure(.noKey), .failure(.keyRevoked), .failure(.keyExpired), .failure(.permissionDenied), .success:
            return .supported
        case .failure(let errno):
            return .unknown("ALG_SET_KEY_BY_KEY_SERIAL answered \(errno)")
        }
    }

    public enum Support: Sendable, Equatable {
        case supported
        case unsupported(String)
        case unknown(String)
    }
}
