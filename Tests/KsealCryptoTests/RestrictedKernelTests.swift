import AFAlg
import KsealCrypto
import KsealTestSupport
import XCTest

/// Linux 7.3 with `af_alg_restrict` at its default of 1, as Debian ships it: `gcm(aes)` is refused
/// with a reason that names the setting, `sha256` and `hmac(sha256)` are still served to root,
/// `--crypto kernel` is unavailable with that reason and `auto` runs in user space. Runs in the
/// restricted phase of the 7.3 kernel suite only (`KSEAL_EXPECT_RESTRICT=1`); skips elsewhere.
final class RestrictedKernelTests: XCTestCase {
    func testGCMIsRefusedWithTheSettingAsReason() throws {
        try RestrictedKernel.check()
        let problem = try XCTUnwrap(AFAlgAvailability.check(type: .aead, algorithm: "gcm(aes)"))
        XCTAssertEqual(problem.step, "bind")
        XCTAssertEqual(problem.errno, .noSuchFileOrDirectory)
        XCTAssertTrue(problem.reason.contains("refused by /proc/sys/crypto/af_alg_restrict = 1"), problem.reason)
        XCTAssertTrue(problem.reason.contains("crypto.af_alg_restrict=0"), "the reason says how to allow it: \(problem.reason)")
    }

    func testHashesAreStillServed() throws {
        try RestrictedKernel.check()
        XCTAssertNil(AFAlgAvailability.check(type: .hash, algorithm: "sha256")?.reason)
        XCTAssertNil(AFAlgAvailability.check(type: .hash, algorithm: "hmac(sha256)")?.reason)
    }

    func testKernelPreferenceIsUnavailableAndAutoFallsBack() throws {
        try RestrictedKernel.check()
        XCTAssertThrowsError(try CryptoBackends.select(.kernel)) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .unavailable, "\(error)")
            XCTAssertTrue("\(error)".contains("af_alg_restrict = 1"), "\(error)")
        }
        let auto = try CryptoBackends.select(.auto)
        XCTAssertEqual(auto.backend.kind, .userspace)
        XCTAssertTrue(auto.reason.contains("af_alg_restrict = 1"), auto.reason)
    }

    func testKeyringProbeStillAnswers() throws {
        try RestrictedKernel.check()
        XCTAssertEqual(KernelKeyring.setKeyBySerialSupport(), .supported)
    }
}
