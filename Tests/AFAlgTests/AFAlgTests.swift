import Foundation
import AFAlg
import KsealTestSupport
import XCTest

/// The raw AF_ALG layer against a real kernel: the protocol facts kseal depends on.
final class AFAlgKernelTests: XCTestCase {
    func testProbeReasonNamesTheErrno() throws {
        let problem = AFAlgAvailability.check(type: .aead, algorithm: "gcm(aes)")
        if KernelRequirement.isRequired {
            XCTAssertNil(problem, "AF_ALG must serve gcm(aes) in the kernel harness")
        } else if let problem {
            let errno = try XCTUnwrap(problem.errno)
            XCTAssertTrue(problem.reason.contains(errno.name), problem.reason)
        }
    }

    func testUnknownAlgorithmIsUnavailableWithReason() throws {
        try KernelRequirement.check()
        let problem = try XCTUnwrap(AFAlgAvailability.check(type: .aead, algorithm: "nosuch(aes)"))
        XCTAssertEqual(problem.errno, .noSuchFileOrDirectory)
        XCTAssertTrue(problem.reason.contains("ENOENT"), problem.reason)
    }

    func testOperationSocketSurvivesAuthenticationFailure() throws {
        try KernelRequirement.check()
        let key = [UInt8](repeating: 7, count: 32)
        let op = try key.withUnsafeBytes { try AEADTransform(key: $0) }.makeOperation()
        let nonce = [UInt8](repeating: 1, count: 12), aad = [UInt8](repeating: 2, count: 20)
        let plaintext = Array("the same socket again".utf8)
        var sealed = try op.seal(plaintext, nonce: nonce, aad: aad)
        sealed[0] ^= 1
        XCTAssertThrowsError(try op.open(sealed, nonce: nonce, aad: aad)) {
            XCTAssertEqual(($0 as? AFAlgError)?.code, .authenticationFailed)
            XCTAssertEqual(($0 as? AFAlgError)?.errno, .badMessage)
        }
        sealed[0] ^= 1
        XCTAssertEqual(try op.open(sealed, nonce: nonce, aad: aad), plaintext)
    }

    /// The limit is what the kernel really processes in one operation wherever the caller's output
    /// buffer starts in its page (the kernel maps that buffer in page-bounded segments, and with too
    /// little receive space left it quietly works on a prefix): at the limit every seal and open is
    /// whole and right at 16 placements across a page; one byte past it is refused before anything
    /// is sent.
    func testMaximumMessageSizeIsReadBackAndEnforced() throws {
        try KernelRequirement.check()
        let key = [UInt8](repeating: 9, count: 32)
        let op = try key.withUnsafeBytes { try AEADTransform(key: $0) }.makeOperation()
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        XCTAssertGreaterThanOrEqual(op.maxMessageSize, 212_992 - page - 16, "the default socket buffers less a page and the tag")
        let nonce = [UInt8](repeating: 3, count: 12), aad = [UInt8](repeating: 4, count: 64)
        let plaintext = [UInt8](repeating: 5, count: op.maxMessageSize - aad.count)
        let sealed = try op.seal(plaintext, nonce: nonce, aad: aad)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: sealed.count + page, alignment: page)
        defer { buffer.deallocate() }
        for offset in stride(from: 0, to: page, by: page / 16) {
            let output = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + sealed.count])
            output.initializeMemory(as: UInt8.self, repeating: 0)
            try plaintext.withUnsafeBytes { p in try nonce.withUnsafeBytes { n in try aad.withUnsafeBytes { a in
                XCTAssertEqual(try op.seal(p, nonce: n, aad: a, into: output), sealed.count) } } }
            XCTAssertTrue(sameBytes(output, sealed), "seal with its output \(offset) bytes into a page")
            output.initializeMemory(as: UInt8.self, repeating: 0)
            let opened = UnsafeMutableRawBufferPointer(rebasing: output[0..<plaintext.count])
            try sealed.withUnsafeBytes { s in try nonce.withUnsafeBytes { n in try aad.withUnsafeBytes { a in
                XCTAssertEqual(try op.open(s, nonce: n, aad: a, into: opened), plaintext.count, "open, \(offset) bytes into a page") } } }
            XCTAssertTrue(sameBytes(opened, plaintext), "open with its output \(offset) bytes into a page")
        }
        XCTAssertThrowsError(try op.seal(plaintext + [0], nonce: nonce, aad: aad)) {
            XCTAssertEqual(($0 as? AFAlgError)?.code, .messageTooLarge)
        }
    }

    func testBadKeyLengthAndEmptyAAD() throws {
        try KernelRequirement.check()
        let short = [UInt8](repeating: 0, count: 15)
        XCTAssertThrowsError(try short.withUnsafeBytes { try AEADTransform(key: $0) }) {
            XCTAssertEqual(($0 as? AFAlgError)?.code, .invalidArgument, "\($0)")
        }
        let key = [UInt8](repeating: 0, count: 32)
        let op = try key.withUnsafeBytes { try AEADTransform(key: $0) }.makeOperation()
        XCTAssertThrowsError(try op.seal([1, 2, 3], nonce: [UInt8](repeating: 0, count: 12), aad: [])) {
            XCTAssertEqual(($0 as? AFAlgError)?.code, .invalidArgument)
        }
    }

    func testHashOperationIsReusedAndStreams() throws {
        try KernelRequirement.check()
        let op = try HashTransform(algorithm: "sha256", digestSize: 32).makeOperation()
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        for _ in 0..<5 { XCTAssertEqual(hexOf(try op.hash(Array("abc".utf8))), abc) }
        for part in ["a", "b", "c"] { try Array(part.utf8).withUnsafeBytes { try op.update($0) } }
        var digest = [UInt8](repeating: 0, count: 32)
        try digest.withUnsafeMutableBytes { try op.finalize(into: $0) }
        XCTAssertEqual(hexOf(digest), abc)
    }

    func testDriverReportNamesTheSelectedDriver() throws {
        try KernelRequirement.check()
        let key = [UInt8](repeating: 0, count: 32)
        _ = try key.withUnsafeBytes { try AEADTransform(key: $0) }  // instantiates gcm(aes)
        for name in ["gcm(aes)", "sha256"] {
            let info = try XCTUnwrap(DriverReport.lookup(name), name)
            XCTAssertEqual(info.name, name)
            XCTAssertFalse(info.driver.isEmpty)
            XCTAssertGreaterThan(info.priority, 0)
            XCTAssertNotEqual(info.isHardware, true, "user-mode-linux has no crypto engine")
        }
    }
}

private func sameBytes(_ a: UnsafeMutableRawBufferPointer, _ b: [UInt8]) -> Bool {
    a.count == b.count && b.withUnsafeBytes { memcmp(a.baseAddress!, $0.baseAddress!, a.count) == 0 }
}

private func hexOf(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
