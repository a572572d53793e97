import Foundation
import KsealCrypto
import XCTest

/// How tests get the kernel backend.
///
/// On a host without AF_ALG the kernel tests skip with the probe's reason. Inside the kernel
/// harnesses (`Scripts/kernel-suite`), `KSEAL_REQUIRE_KERNEL=1` turns that skip into a failure, so a
/// test that silently fell back to user space can never count as a kernel test.
public enum KernelRequirement {
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["KSEAL_REQUIRE_KERNEL"] == "1" }

    /// The kernel backend, or a skip (host) / failure (kernel harness) carrying the reason.
    public static func backend(file: StaticString = #filePath, line: UInt = #line) throws -> KernelBackend {
        let selection: BackendSelection
        do {
            selection = try CryptoBackends.select(.kernel)
        } catch {
            if isRequired {
                XCTFail("KSEAL_REQUIRE_KERNEL=1 but the kernel backend is unavailable: \(error)", file: file, line: line)
                throw error
            }
            throw XCTSkip("kernel backend unavailable: \(error)")
        }
        guard let kernel = selection.backend as? KernelBackend else {
            XCTFail("select(.kernel) returned a \(selection.backend.kind) backend", file: file, line: line)
            throw CryptoError(.unavailable, "not a kernel backend")
        }
        return kernel
    }

    /// Skips (host) or fails (kernel harness) unless AF_ALG serves `gcm(aes)`; for tests of the raw
    /// AFAlg layer.
    public static func check(file: StaticString = #filePath, line: UInt = #line) throws {
        _ = try backend(file: file, line: line)
    }
}

/// Deterministic pseudo-random bytes for tests (SplitMix64), so failures reproduce.
public struct TestRandom {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }
}

/// The running kernel's release, for expectations that depend on it (keyring keys from 6.2).
public enum KernelRelease {
    public static var string: String {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// True when the running kernel is older than `major.minor`.
    public static func isBefore(_ major: Int, _ minor: Int) -> Bool {
        let parts = string.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 && (parts[0], parts[1]) < (major, minor)
    }
}

/// Linux 7.3's `af_alg_restrict`: tests of the restricted kernel run only in the kernel harness's
/// restricted phase (`KSEAL_EXPECT_RESTRICT=1`, 7.3 with the setting at its default), and fail
/// there if the kernel is not restricted after all.
public enum RestrictedKernel {
    public static var isExpected: Bool { ProcessInfo.processInfo.environment["KSEAL_EXPECT_RESTRICT"] == "1" }

    public static func check(file: StaticString = #filePath, line: UInt = #line) throws {
        guard isExpected else { throw XCTSkip("not in the restricted phase of the kernel harness (KSEAL_EXPECT_RESTRICT=1)") }
        let level = (try? String(contentsOfFile: "/proc/sys/crypto/af_alg_restrict", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(level, 1, "KSEAL_EXPECT_RESTRICT=1 but af_alg_restrict is \(level.map(String.init) ?? "absent")", file: file, line: line)
    }
}
