import AFAlg

/// What the user asked for with `--crypto`.
public enum BackendPreference: String, Sendable, CaseIterable {
    /// The kernel when its probe passes, otherwise user space.
    case auto
    /// The kernel or nothing: fail with the probe's reason.
    case kernel
    /// swift-crypto in this process.
    case userspace
}

/// The chosen backend and the exact reason it was chosen, for the user to read.
public struct BackendSelection: Sendable {
    public let backend: any CryptoBackend
    public let reason: String
    /// Why the kernel could not run, when `auto` fell back to user space.
    private let kernelProblem: String?

    init(backend: any CryptoBackend, reason: String, kernelProblem: String? = nil) {
        self.backend = backend
        self.reason = reason
        self.kernelProblem = kernelProblem
    }

    /// The choice in one short line for every command's note; `reason` (and `kseal doctor`) has
    /// the whole explanation: of the kernel's problem, its first clause.
    public var summary: String {
        switch backend.kind {
        case .kernel: return "kernel (AF_ALG)"
        case .userspace:
            guard let kernelProblem else { return "user space (requested)" }
            // The first clause: up to the first ": " (scanned by hand; String separators would
            // link _StringProcessing, 1.2 MB, into the device binary).
            let bytes = Array(kernelProblem.utf8)
            let end = bytes.indices.first { bytes[$0] == UInt8(ascii: ":") && $0 + 1 < bytes.count && bytes[$0 + 1] == UInt8(ascii: " ") }
            let cause = end.map { String(decoding: bytes[..<$0], as: UTF8.self) } ?? kernelProblem
            return "user space; kernel unavailable (\(cause); kseal doctor says more)"
        }
    }
}

/// The algorithms the kernel backend needs, as AF_ALG names them.
public struct KernelAlgorithm: Sendable, Hashable {
    let type: AlgType
    public let name: String
    public static let aes256GCM = KernelAlgorithm(type: .aead, name: "gcm(aes)")
    public static let sha256 = KernelAlgorithm(type: .hash, name: "sha256")
    public static let hmacSHA256 = KernelAlgorithm(type: .hash, name: "hmac(sha256)")
    public static let all: [KernelAlgorithm] = [.aes256GCM, .sha256, .hmacSHA256]
}

/// Which backends this binary was built with (the package trait UserspaceCrypto).
public enum Build {
#if UserspaceCrypto
    public static let hasUserspaceBackend = true
    public static let name = "kernel and user space"
#else
    public static let hasUserspaceBackend = false
    public static let name = "kernel-only"
#endif
}

public enum CryptoBackends {
    /// Picks the backend once for a whole run.
    /// - Throws: ``CryptoError`` with code `.unavailable` when `.kernel` was asked for and the
    ///   kernel cannot serve it.
    public static func select(_ preference: BackendPreference) throws -> BackendSelection {
        switch preference {
        case .userspace:
            return BackendSelection(backend: try userspace(kernelProblem: kernelUnavailability()), reason: "user space (swift-crypto): requested")
        case .kernel:
            let kernel = try openKernel()
            return BackendSelection(backend: kernel, reason: "kernel (AF_ALG): requested; gcm(aes), sha256 and hmac(sha256) passed their self-tests")
        case .auto:
            do {
                let kernel = try openKernel()
                return BackendSelection(backend: kernel, reason: "kernel (AF_ALG): gcm(aes), sha256 and hmac(sha256) passed their self-tests")
            } catch let error as CryptoError {
                return BackendSelection(backend: try userspace(kernelProblem: error.message), reason: "user space (swift-crypto): kernel unavailable: \(error.message)",
                                        kernelProblem: error.message)
            }
        }
    }

    /// swift-crypto; in the kernel-only build, the one refusal for both ways there: no user-space
    /// backend, and what the kernel said (`kernelProblem`, nil when it can serve).
    private static func userspace(kernelProblem: @autoclosure () -> String?) throws -> any CryptoBackend {
#if UserspaceCrypto
        return UserspaceBackend()
#else
        let kernel = kernelProblem().map { ", and the kernel cannot serve kseal: \($0)" } ?? "; the kernel can: use --crypto kernel or auto"
        throw CryptoError(.unavailable, "this kseal is the kernel-only build: it has no user-space backend" + kernel)
#endif
    }

    /// Why the kernel backend cannot run, or nil if it can (all algorithms bind and self-test).
    public static func kernelUnavailability() -> String? {
        do {
            _ = try openKernel()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Opens the kernel backend after checking every algorithm it needs and running known-answer
    /// tests, so a broken or missing driver falls back instead of producing wrong archives.
    static func openKernel() throws -> KernelBackend {
        for algorithm in KernelAlgorithm.all {
            if let problem = AFAlgAvailability.check(type: algorithm.type, algorithm: algorithm.name) {
                throw CryptoError(.unavailable, problem.reason)
            }
        }
        let kernel = try KernelBackend()
        try SelfTest.run(kernel)
        return kernel
    }
}

/// Known-answer tests run before a backend is trusted.
enum SelfTest {
    // McGrew–Viega GCM test case 16 (AES-256, 20-byte AAD, 60-byte plaintext).
    static let key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
    static let nonce = hex("cafebabefacedbaddecaf888")
    static let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    static let plaintext = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
    static let sealed = hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
        + "76fc6ece0f4e1768cddf8853bb2d551b")
    // FIPS 180-4 "abc"; RFC 4231 test case 2.
    static let sha256abc = hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    static let hmacJefe = hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")

    static func run(_ backend: any CryptoBackend) throws {
        let context = try backend.aes256GCM(key: key).makeContext()
        let sealedNow = try context.seal(plaintext, nonce: nonce, aad: aad)
        let opened = try context.open(sealed, nonce: nonce, aad: aad)
        let digest = try backend.makeSHA256().digest(Array("abc".utf8))
        let mac = try backend.makeHMACSHA256(key: Array("Jefe".utf8)).digest(Array("what do ya want for nothing?".utf8))
        guard sealedNow == sealed, opened == plaintext, digest == sha256abc, mac == hmacJefe else {
            throw CryptoError(.unavailable, "\(backend.kind) crypto failed its known-answer self-test")
        }
    }
}

/// Decodes a hex string; for constants in code and tests.
public func hex(_ string: String) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(string.utf8.count / 2)
    var high: UInt8?
    for c in string.utf8 {
        let v: UInt8
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
        default: continue
        }
        if let h = high { bytes.append(h << 4 | v); high = nil } else { high = v }
    }
    return bytes
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in self { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
