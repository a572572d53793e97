import KsealCrypto
import XCTest

final class UserspaceBackendTests: XCTestCase {
    func testKnownAnswers() throws { try BackendChecks.knownAnswers(UserspaceBackend()) }
    func testStreamingDigests() throws { try BackendChecks.streaming(UserspaceBackend()) }
    func testFailures() throws { try BackendChecks.failures(UserspaceBackend()) }
    func testOpenInPlace() throws { try BackendChecks.inPlace(UserspaceBackend()) }
    func testScryptInSwift() throws { try BackendChecks.scrypt(UserspaceBackend(), maxWork: 1 << 14, randomCases: 40) }

    func testUserspaceSelectionSaysWhy() throws {
        let selection = try CryptoBackends.select(.userspace)
        XCTAssertEqual(selection.backend.kind, .userspace)
        XCTAssertTrue(selection.reason.contains("requested"), selection.reason)
    }

    func testAutoFollowsTheKernelProbe() throws {
        let selection = try CryptoBackends.select(.auto)
        if let reason = CryptoBackends.kernelUnavailability() {
            XCTAssertEqual(selection.backend.kind, .userspace)
            XCTAssertTrue(selection.reason.contains(reason), "reason '\(selection.reason)' should carry '\(reason)'")
        } else {
            XCTAssertEqual(selection.backend.kind, .kernel, selection.reason)
        }
    }

    func testHKDFRejectsImpossibleLengths() {
        XCTAssertThrowsError(try HKDFSHA256.deriveKey(backend: UserspaceBackend(), inputKey: [1], salt: [], info: [], outputLength: 8161)) {
            XCTAssertEqual(($0 as? CryptoError)?.code, .invalidArgument)
        }
    }
}
