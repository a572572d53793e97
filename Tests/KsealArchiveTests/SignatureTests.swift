import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Signed archives (spec §4.4): a device trusting a public key reads only what that key signed,
/// and refuses everything else before the index is decompressed or a byte is written.
final class SignatureTests: XCTestCase {
    private let vector = try! FormatVector("v2-signed")

    /// The signed vector reproduces byte for byte (Ed25519 is deterministic), and the forged one
    /// is what a holder of the key file alone can make: the trusted key's record over other bytes.
    func testTheSignedAndForgedVectorsReproduce() throws {
        let scratch = try ScratchDirectory()
        let signed = try vector.recreate(backend: UserspaceBackend(), in: try scratch.sub("signed"))
        var forged = try vector.recreate(backend: UserspaceBackend(), in: try scratch.sub("forged"), signingKey: vector.forgerKey) { tree in
            try Fixture.write(Array("not from the signer\n".utf8), to: tree + "/forged.txt")
            try shell("chmod 644 '\(tree)/forged.txt' && touch -d @1700000100 '\(tree)/forged.txt' '\(tree)'")
        }
        let record = try Self.signatureRecord(of: signed)
        forged.replaceSubrange(try Self.signatureRecord(of: forged), with: signed[record])
        if ProcessInfo.processInfo.environment["KSEAL_WRITE_VECTORS"] == "1" {
            try Data(signed).write(to: URL(fileURLWithPath: vector.archivePath))
            try Data(forged).write(to: URL(fileURLWithPath: FormatVector.directory.appendingPathComponent("v2-forged.kseal").path))
            try Data(vector.signingKey!.publicKey.fileText.utf8).write(to: URL(fileURLWithPath: vector.path(".pub")))
        }
        XCTAssertTrue(signed == (try Fixture.bytes(vector.archivePath)), "recreated signed archive differs from the vector")
        XCTAssertTrue(forged == (try Fixture.bytes(FormatVector.directory.appendingPathComponent("v2-forged.kseal").path)), "forged archive differs")
        XCTAssertEqual(try PublicSigningKey.read(path: vector.path(".pub")), vector.signingKey!.publicKey)
    }

    func testTrustedSignatureReadsAndEverythingElseIsRefusedBeforeAnyByteIsWritten() throws {
        let trusted = TrustPolicy([try PublicSigningKey.read(path: vector.path(".pub"))])
        let other = TrustPolicy([vector.forgerKey!.publicKey])
        let signed = vector.archivePath, forged = FormatVector.directory.appendingPathComponent("v2-forged.kseal").path
        let reader = try ArchiveReader(.file(signed), keyFile: vector.keyFile, backend: UserspaceBackend(), trust: trusted)
        XCTAssertEqual(reader.signature, .signed(by: trusted.keys[0], trusted: true))
        XCTAssertTrue(try Verifier.verify(reader).isIntact)
        // No policy: read, and the signer reported, not judged.
        XCTAssertEqual(try ArchiveReader(.file(signed), keyFile: vector.keyFile, backend: UserspaceBackend()).signature,
                       .signed(by: trusted.keys[0], trusted: nil))
        // Unsigned (the v2 root-file-system vector), signed by another key, forged: refused.
        let unsigned = try FormatVector("v2-rootfs")
        let scratch = try ScratchDirectory()
        for (archive, key, trust, expected) in [(unsigned.archivePath, unsigned.keyFile, trusted, "is not signed"),
                                                (signed, vector.keyFile, other, "which is not among the 1 trusted keys"),
                                                (forged, vector.keyFile, trusted, "does not verify")] {
            let target = try scratch.sub("target-\(expected.count)")
            XCTAssertThrowsError(try Extractor.extract(ArchiveReader(.file(archive), keyFile: key, backend: UserspaceBackend(), trust: trust),
                                                       to: .directory(target))) {
                XCTAssertEqual(($0 as? ArchiveError)?.code, .untrusted, "\($0)")
                XCTAssertTrue("\($0)".contains(expected), "\($0)")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), [], "nothing written")
        }
        // Without a policy the forgery is damage: its signature does not verify.
        XCTAssertThrowsError(try ArchiveReader(.file(forged), keyFile: vector.keyFile, backend: UserspaceBackend())) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .damaged, "\($0)")
        }
    }

    /// The P-256 vector (randomized signatures: checked, not reproduced) verifies with its trust
    /// file, a certificate; one flipped bit of its signature does not.
    func testTheP256VectorVerifiesWithItsCertificate() throws {
        let archive = vector.path("-p256.kseal"), publicKey = vector.path("-p256.pub")
        if ProcessInfo.processInfo.environment["KSEAL_WRITE_VECTORS"] == "1" {
            let key = vector.p256Key!
            try Data(try vector.recreate(backend: UserspaceBackend(), in: try ScratchDirectory().path, signingKey: key)).write(to: URL(fileURLWithPath: archive))
            try? FileManager.default.removeItem(atPath: publicKey)
            let scratch = try ScratchDirectory()
            try key.write(to: scratch.path + "/k")
            try FileManager.default.copyItem(atPath: scratch.path + "/k.pub", toPath: publicKey)
        }
        let trusted = try PublicSigningKey.read(path: publicKey)
        XCTAssertEqual(trusted.algorithm, .ecdsaP256)
        XCTAssertEqual(trusted, vector.p256Key!.publicKey, "the certificate holds the vector's key")
        let reader = try ArchiveReader(.file(archive), keyFile: vector.keyFile, backend: UserspaceBackend(), trust: TrustPolicy([trusted]))
        XCTAssertEqual(reader.signature, .signed(by: trusted, trusted: true))
        XCTAssertTrue(try Verifier.verify(reader).isIntact)
        var bytes = try Fixture.bytes(archive)
        bytes[Int(reader.frontLength) - 1] ^= 1
        let scratch = try ScratchDirectory()
        try Fixture.write(bytes, to: scratch.path + "/a.kseal")
        XCTAssertThrowsError(try ArchiveReader(.file(scratch.path + "/a.kseal"), keyFile: vector.keyFile, backend: UserspaceBackend(),
                                               trust: TrustPolicy([trusted]))) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .untrusted)
        }
    }

    /// Every byte the signature covers, flipped, and the record itself, is caught.
    func testEveryCoveredByteIsBound() throws {
        let trusted = TrustPolicy([vector.signingKey!.publicKey])
        let bytes = try Fixture.bytes(vector.archivePath)
        let record = try Self.signatureRecord(of: bytes)
        let scratch = try ScratchDirectory()
        for offset in Array(stride(from: 12, to: record.upperBound, by: 7)) + [record.lowerBound + 8, record.upperBound - 1] {
            var altered = bytes
            altered[offset] ^= 0x01
            try Fixture.write(altered, to: scratch.path + "/a.kseal")
            XCTAssertThrowsError(try ArchiveReader(.file(scratch.path + "/a.kseal"), keyFile: vector.keyFile, backend: UserspaceBackend(), trust: trusted),
                                 "byte \(offset)")
        }
    }

    /// The record's place: after the sealed index, before the frames (spec §4.4).
    private static func signatureRecord(of archive: [UInt8]) throws -> Range<Int> {
        let scratch = try ScratchDirectory()
        try Fixture.write(archive, to: scratch.path + "/a.kseal")
        let front = Int(try ArchiveReader(.file(scratch.path + "/a.kseal"), keyFile: FormatVector("v2-signed").keyFile, backend: UserspaceBackend()).frontLength)
        return (front - 104)..<front
    }
}
