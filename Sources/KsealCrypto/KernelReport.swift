#if canImport(Glibc)
import Glibc
#endif
import AFAlg

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

    /// Has the kernel check one good P-256 signature and the same with one bit flipped: supported
    /// only if the first holds and the second does not. A fixed certificate and signature (made
    /// with openssl, `ProbeVector`), so the probe needs no signing code and runs in every build.
    private static func probeSignatures() -> KeyringKeys {
        do {
            let kernel = try KernelSignatureKey(certificate: hex(ProbeVector.certificate))
            var signature = hex(ProbeVector.signature)
            guard try kernel.isValid(signature: signature, digest: hex(ProbeVector.digest)) else { return .unknown("the kernel refused a good signature") }
            signature[63] ^= 1
            guard try !kernel.isValid(signature: signature, digest: hex(ProbeVector.digest)) else { return .unknown("the kernel accepted a bad signature") }
            return .supported
        } catch let error as CryptoError {
            return .unsupported(error.message)
        } catch {
            return .unknown("\(error)")
        }
    }
}

/// A self-signed P-256 certificate ("CN=kseal doctor", valid to 2126), and its key's signature
/// (r ‖ s) of SHA-256("kseal doctor"), made once with `openssl req -x509` and `openssl dgst
/// -sha256 -sign`. KsealCryptoTests checks it against swift-crypto.
enum ProbeVector {
    static let certificate = "308201943082013ba00302010202142b57487e623a485488171c34d2a365614d7b795d300a06082a8648ce3d04030230173115301306035504030c0c6b7365616c20646f63746f723020170d3236313132393233323134325a180f32313236313130353233323134325a30173115301306035504030c0c6b7365616c20646f63746f723059301306072a8648ce3d020106082a8648ce3d03010703420004615521ab0532f844eb3326b44ea274050fffa9a58a2301a03f8c79392838d3faa73fecc73de1088a95b4a8b509da6afcb98f9e31a3ec06062717f91429967543a3633061301d0603551d0e041604142a255752e459064f57f21f95c46d335603f5205e301f0603551d230418301680142a255752e459064f57f21f95c46d335603f5205e300f0603551d130101ff040530030101ff300e0603551d0f0101ff040403020780300a06082a8648ce3d0403020347003044022033581c81935bb06fb089bf3452c5aff949b50edf6f18c60ba1de19e432e5c7bc02200d277533d536a1d79f3c5b4740d8678964f2b130b3f322f0738f5ed0db9613e0"
    static let message = "kseal doctor"
    static let digest = "1fb34874107c5d981a9c34e48842c3ed998e8394cd3b97d1127c6a549b9e3427"
    static let signature = "4594b2b584d046e5eb6a6a72ad803c36efaf140a46f9182ad649de54b9ece573"
        + "384bca58909defde86074cfa81f9680c86ae53218e1fa3ed6bb79a43b4d47538"
}
