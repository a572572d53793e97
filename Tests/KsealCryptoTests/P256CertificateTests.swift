import Crypto
@testable import KsealCrypto
import XCTest

/// The hand-written parts of P-256 that the kernel-only build relies on, against swift-crypto:
/// reading a certificate's key, writing the kernel's DER signature, and doctor's fixed probe.
final class P256CertificateTests: XCTestCase {
    func testTheKeyReadFromACertificateIsTheKeyThatMadeIt() throws {
        for _ in 0..<20 {
            let key = ECDSAP256.PrivateKey.generate()
            XCTAssertEqual(try ECDSAP256.publicKey(ofCertificate: try key.certificate(commonName: "kseal test")), key.publicKey)
        }
    }

    func testAnythingButAP256CertificateIsRefused() throws {
        let good = try ECDSAP256.PrivateKey.generate().certificate(commonName: "kseal test")
        var wrongCurve = good
        let curve = try XCTUnwrap(find(ECDSAP256.prime256v1, in: good))
        wrongCurve[curve + ECDSAP256.prime256v1.count - 1] ^= 1
        var compressedPoint = good
        let point = try XCTUnwrap(find([0x03, 0x42, 0x00, 0x04], in: good))
        compressedPoint[point + 3] = 0x02
        for bad in [[], Array(good.prefix(good.count / 2)), wrongCurve, compressedPoint, [UInt8](repeating: 0x30, count: 64), Array("kseal".utf8)] {
            XCTAssertThrowsError(try ECDSAP256.publicKey(ofCertificate: bad))
        }
    }

    /// Every length case of DER INTEGERs: a leading zero byte dropped, a zero byte added before a
    /// high bit, as swift-crypto writes them.
    func testDERSignaturesMatchSwiftCrypto() throws {
        var raws: [[UInt8]] = [[UInt8](repeating: 0, count: 31) + [1] + [UInt8](repeating: 0xFF, count: 32),
                               [0x80] + [UInt8](repeating: 0, count: 31) + [0] + [UInt8](repeating: 0x7F, count: 31)]
        let key = P256.Signing.PrivateKey()
        for i in 0..<200 { raws.append(Array(try key.signature(for: [UInt8(i & 0xFF)]).rawRepresentation)) }
        for raw in raws {
            let reference = Array(try P256.Signing.ECDSASignature(rawRepresentation: raw).derRepresentation)
            XCTAssertEqual(ECDSAP256.derSignature(raw), reference, raw.hexString)
        }
        XCTAssertNil(ECDSAP256.derSignature([1, 2, 3]))
    }

    /// doctor's fixed probe (KernelReport) holds in user space, and its flipped copy does not.
    func testDoctorsProbeVectorIsAGoodSignature() throws {
        let certificate = hex(ProbeVector.certificate)
        let publicKey = try ECDSAP256.publicKey(ofCertificate: certificate)
        XCTAssertEqual(Array(SHA256.hash(data: Array(ProbeVector.message.utf8))), hex(ProbeVector.digest))
        var signature = hex(ProbeVector.signature)
        XCTAssertTrue(ECDSAP256.isValid(signature: signature, of: Array(ProbeVector.message.utf8), publicKey: publicKey))
        signature[63] ^= 1
        XCTAssertFalse(ECDSAP256.isValid(signature: signature, of: Array(ProbeVector.message.utf8), publicKey: publicKey))
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        haystack.indices.first { haystack[$0...].starts(with: needle) }
    }
}
