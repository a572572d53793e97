import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Several key slots (spec §4): key files and passphrases, each of which opens the archive.
final class KeySlotTests: XCTestCase {
    private let vector = try! FormatVector("v2-signed")

    /// Two key files and a passphrase each open the same archive, with the slot they opened;
    /// a wrong passphrase and a wrong key do not.
    func testEachKeyAndThePassphraseOpenTheVector() throws {
        let archive = ArchiveSource.file(vector.archivePath)
        let backend = UserspaceBackend()
        let byFirst = try ArchiveReader(archive, keyFile: vector.keyFile, backend: backend)
        let bySecond = try ArchiveReader(archive, keyFile: vector.secondKeyFile!, backend: backend)
        let byPassphrase = try ArchiveReader(archive, keyFiles: [], passphrases: [vector.passphrase!], backend: backend)
        XCTAssertEqual(byFirst.slotKinds, [1, 1, 2])
        XCTAssertEqual([byFirst.openedSlot, bySecond.openedSlot, byPassphrase.openedSlot], [0, 1, 2])
        for reader in [byFirst, bySecond, byPassphrase] { XCTAssertTrue(try Verifier.verify(reader).isIntact) }
        XCTAssertThrowsError(try ArchiveReader(archive, keyFiles: [Fixture.otherKey], passphrases: [try Passphrase(bytes: Array("wrong".utf8))],
                                               backend: backend)) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .wrongKey, "\($0)")
        }
    }

    /// The slot body as §4.5 says, opened here with plain scrypt and AES-GCM calls.
    func testThePassphraseSlotOpensByTheSpecFormula() throws {
        let bytes = try Fixture.bytes(vector.archivePath)
        var offset = 128
        var slots: [(kind: UInt16, body: [UInt8])] = []
        for _ in 0..<3 {
            let kind = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8, length = Int(bytes[offset + 2]) | Int(bytes[offset + 3]) << 8
            slots.append((kind, Array(bytes[(offset + 4)..<(offset + 4 + length)])))
            offset += 4 + length
        }
        let body = slots[2].body
        XCTAssertEqual(slots[2].kind, 2)
        XCTAssertEqual(Array(body[0..<4]), [10, 8, 1, 0])
        let backend = UserspaceBackend()
        let kek = try Scrypt.deriveKey(passphrase: Array("correct horse battery staple".utf8),
                                       salt: Array("kseal/v2/slot/passphrase".utf8) + Array(bytes[16..<48]) + Array(body[4..<20]), log2N: 10, r: 8, p: 1, backend: backend)
        let aad = Array("kseal/v2/slot".utf8) + Array(bytes[0..<48]) + [2, 0, 2, 0]
        var nonce = [UInt8](repeating: 0, count: 12)
        nonce[11] = 2
        XCTAssertEqual(try backend.aes256GCM(key: kek).makeContext().open(Array(body[20...]), nonce: nonce, aad: aad), vector.options.secrets?.dataKey)
    }

    /// A slot may ask scrypt for anything; kseal tries none over 256 MiB and says so.
    func testACostlyPassphraseSlotIsNotTried() throws {
        let scratch = try ScratchDirectory()
        try Fixture.write(Array("x".utf8), to: try scratch.sub("t") + "/f")
        var options = CreateOptions()
        let passphrase = try Passphrase(bytes: Array("pw".utf8))
        let archive = scratch.path + "/a.kseal"
        // Written with a cheap cost, then its cost byte raised to N = 2^20 (1 GiB): never tried.
        options.scryptCost = ScryptCost(log2N: 10, r: 8, p: 1)
        _ = try ArchiveWriter.create(paths: [Array("t".utf8)].map { Array(scratch.path.utf8) + [47] + $0 }, destination: .file(archive), keyFiles: [],
                                     passphrases: [passphrase], backend: UserspaceBackend(), options: options, warn: { _ in })
        var bytes = try Fixture.bytes(archive)
        bytes[128 + 4] = 20
        try Fixture.write(bytes, to: archive)
        XCTAssertThrowsError(try ArchiveReader(.file(archive), keyFiles: [], passphrases: [passphrase], backend: UserspaceBackend())) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .unsupported, "\($0)")
            XCTAssertTrue("\($0)".contains("1024 MiB"), "\($0)")
        }
    }
}
