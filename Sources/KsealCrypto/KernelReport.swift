#if canImport(Glibc)
import Glibc
#endif
import AFAlg
import Crypto

/// What `kseal doctor` reports of the running kernel's crypto, gathered through AF_ALG (no AF_ALG
/// type in it, so the CLI needs nothing below this layer).
public struct KernelReport: Sendable {
    public struct Algorithm: Sendable {
        public let name: String
        /// Why AF_ALG cannot serve it, or nil when it can.
        public let problem: String?
        /// The driver the kernel picks, where /proc/crypto lists it.
        public let driver: String?, priority: Int?, isHardware: Bool?, source: String?
    }

    public enum KeyringKeys: Sendable, Equatable {
        case supported
        case unsupported(String)
        case unknown(String)
    }

    public let release: String
    /// /proc/sys/crypto/af_alg_restrict (Linux 7.3), nil where it does not exist.
    public let restrictLevel: Int?
    public let algorithms: [Algorithm]
    /// Whether AF_ALG can be keyed from a keyring key (Linux 6.2 and later).
    public let keyringKeys: KeyringKeys
    /// Whether the kernel checks ECDSA P-256 signatures (keyctl pkey_verify), found by checking one.
    public let kernelSignatures: KeyringKeys

    public static func gather() -> KernelReport {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let algorithms = KernelAlgorithm.all.map { algorithm in
            if let problem = AFAlgAvailability.check(type: algorithm.type, algorithm: algorithm.name) {
                return Algorithm(name: algorithm.name, problem: problem.reason, driver: nil, priority: nil, isHardware: nil, source: nil)
            }
            let driver = DriverReport.lookup(algorithm.name)
            return Algorithm(name: algorithm.name, problem: nil, driver: driver?.driver, priority: driver?.priority, isHardware: driver?.isHardware,
                             source: driver?.source)
        }
        let keyring: KeyringKeys = switch KernelKeyring.setKeyBySerialSupport() {
        case .supported: .supported
        case .unsupported(let why): .unsupported(why)
        case .unknown(let why): .unknown(why)
        }
        return KernelReport(release: release, restrictLevel: AFAlgAvailability.restrictLevel(), algorithms: algorithms, keyringKeys: keyring,
                            kernelSignatures: probeSignatures())
    }

    /// Signs a message with a fresh P-256 key and has the kernel check it, and a copy with one
    /// bit flipped: supported only if the first holds and the second does not.
    private static func probeSignatures() -> KeyringKeys {
        do {
            let key = ECDSAP256.PrivateKey.generate()
            let message = Array("kseal doctor".utf8)
            var signature = try key.sign(message)
            let digest = Array(SHA256.hash(data: message))
            let kernel = try KernelSignatureKey(certificate: try key.certificate(commonName: "kseal doctor"))
            guard try kernel.isValid(signature: signature, digest: digest) else { return .unknown("the kernel refused a good signature") }
            signature[63] ^= 1
            guard try !kernel.isValid(signature: signature, digest: digest) else { return .unknown("the kernel accepted a bad signature") }
            return .supported
        } catch let error as CryptoError {
            return .unsupported(error.message)
        } catch {
            return .unknown("\(error)")
        }
    }
}
