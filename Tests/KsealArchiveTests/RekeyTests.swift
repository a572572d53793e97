import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// `rekey`: slots added and removed, the sealed index and frames carried over byte for byte.
final class RekeyTests: XCTestCase {
    func testAddingAndRemovingSlotsLeavesTheContentsUntouched() throws {
        let scratch = try ScratchDirectory()
        var random = TestRandom(seed: 12)
        try Fixture.write(random.bytes(700_000), to: try scratch.sub("t") + "/f")
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["t"], in: scratch.path)
        let before = try Fixture.bytes(archive), regionsBefore = try Regions(archive: archive)
        let added = try KeyFile(bytes: [UInt8](repeating: 0x33, count: 32)), passphrase = try Passphrase(bytes: Array("pw".utf8))
        var changes = RekeyChanges()
        changes.addKeyFiles = [added]
        changes.addPassphrases = [passphrase]
        changes.scryptCost = ScryptCost(log2N: 10, r: 8, p: 1)
        let summary = try Rekey.rekey(archive, keyFiles: [Fixture.key], passphrases: [], changes: changes, backend: UserspaceBackend())
        XCTAssertEqual(summary.slotKinds, [1, 1, 2])
        let after = try Fixture.bytes(archive), regionsAfter = try Regions(archive: archive)
        // The sealed index, frames and end marker are the same bytes; only the front grew.
        XCTAssertTrue(Array(before[regionsBefore.index.lowerBound...]) == Array(after[regionsAfter.index.lowerBound...]), "index and frames copied as they were")
        XCTAssertEqual(Array(before[16..<48]), Array(after[16..<48]), "same archive id")
        for reader in [try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend()),
                       try ArchiveReader(.file(archive), keyFile: added, backend: UserspaceBackend()),
                       try ArchiveReader(.file(archive), keyFiles: [], passphrases: [passphrase], backend: UserspaceBackend())] {
            XCTAssertTrue(try Verifier.verify(reader).isIntact)
        }
        // Removing slot 0 frees it: the original key no longer opens, the others keep their
        // indexes (their AADs bind them) and still open.
        var removal = RekeyChanges()
        removal.removeSlots = [0]
        XCTAssertEqual(try Rekey.rekey(archive, keyFiles: [added], passphrases: [], changes: removal, backend: UserspaceBackend()).slotKinds, [0, 1, 2])
        XCTAssertThrowsError(try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend())) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .wrongKey)
        }
        XCTAssertEqual(try ArchiveReader(.file(archive), keyFile: added, backend: UserspaceBackend()).openedSlot, 1)
        XCTAssertTrue(Array(before[regionsBefore.index.lowerBound...]) == Array(try Fixture.bytes(archive)[try Regions(archive: archive, key: added).index.lowerBound...]))
        // Nobody left: refused, and the archive is unchanged.
        var all = RekeyChanges()
        all.removeSlots = [1, 2]
        let kept = try Fixture.bytes(archive)
        XCTAssertThrowsError(try Rekey.rekey(archive, keyFiles: [added], passphrases: [], changes: all, backend: UserspaceBackend())) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .usage)
        }
        XCTAssertTrue(kept == (try Fixture.bytes(archive)))
    }

    /// Revocation must reach the archive itself. Through a symlink, the file it names is rekeyed
    /// (replacing the link left the archive opening with the removed key); a hard-linked archive is
    /// refused unless asked, since the other names would keep the old slots; the file keeps its
    /// mode, whatever the umask, and its owner.
    func testRekeyChangesTheFileThePathNames() throws {
        let scratch = try ScratchDirectory()
        try Fixture.write(Array("data".utf8), to: try scratch.sub("t") + "/f")
        let archive = scratch.path + "/fw.kseal", current = scratch.path + "/current.kseal", other = scratch.path + "/copy.kseal"
        try Fixture.create(archive, inputs: ["t"], in: scratch.path)
        XCTAssertEqual(chmod(archive, 0o640), 0)
        XCTAssertEqual(symlink("fw.kseal", current), 0)
        let added = try KeyFile(bytes: [UInt8](repeating: 0x44, count: 32))
        var swap = RekeyChanges()
        swap.addKeyFiles = [added]
        swap.removeSlots = [0]
        _ = try Rekey.rekey(current, keyFiles: [Fixture.key], passphrases: [], changes: swap, backend: UserspaceBackend())
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: current), "fw.kseal", "the link is still a link")
        XCTAssertThrowsError(try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend()), "the removed key no longer opens it") {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .wrongKey)
        }
        XCTAssertTrue(try Verifier.verify(try ArchiveReader(.file(archive), keyFile: added, backend: UserspaceBackend())).isIntact)
        var status = stat()
        XCTAssertEqual(stat(archive, &status), 0)
        XCTAssertEqual(status.st_mode & 0o7777, 0o640, "mode kept")
        XCTAssertEqual(status.st_uid, geteuid())

        XCTAssertEqual(link(archive, other), 0)
        let before = try Fixture.bytes(archive)
        var back = RekeyChanges()
        back.addKeyFiles = [Fixture.key]
        XCTAssertThrowsError(try Rekey.rekey(archive, keyFiles: [added], passphrases: [], changes: back, backend: UserspaceBackend())) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .usage)
            XCTAssertTrue("\($0)".contains("2 hard links") && "\($0)".contains("--break-hard-links"), "\($0)")
        }
        XCTAssertTrue(before == (try Fixture.bytes(archive)), "refused: unchanged")
        back.breakHardLinks = true
        _ = try Rekey.rekey(archive, keyFiles: [added], passphrases: [], changes: back, backend: UserspaceBackend())
        XCTAssertEqual(try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend()).openedSlot, 1)
        XCTAssertTrue(before == (try Fixture.bytes(other)), "the other name keeps the old file")
    }

    /// A signed archive's signature covers its slots: rekey signs it again, or refuses.
    func testASignedArchiveIsSignedAgain() throws {
        let vector = try FormatVector("v2-signed")
        let scratch = try ScratchDirectory()
        let archive = scratch.path + "/s.kseal"
        try FileManager.default.copyItem(atPath: vector.archivePath, toPath: archive)
        var changes = RekeyChanges()
        changes.removeSlots = [1]
        XCTAssertThrowsError(try Rekey.rekey(archive, keyFiles: [vector.keyFile], passphrases: [], changes: changes, backend: UserspaceBackend())) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .usage)
            XCTAssertTrue("\($0)".contains("--sign"), "\($0)")
        }
        changes.signingKey = vector.signingKey
        _ = try Rekey.rekey(archive, keyFiles: [vector.keyFile], passphrases: [], changes: changes, backend: UserspaceBackend())
        let trust = TrustPolicy([vector.signingKey!.publicKey])
        XCTAssertTrue(try Verifier.verify(ArchiveReader(.file(archive), keyFile: vector.keyFile, backend: UserspaceBackend(), trust: trust)).isIntact)
        XCTAssertThrowsError(try ArchiveReader(.file(archive), keyFile: vector.secondKeyFile!, backend: UserspaceBackend(), trust: trust)) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .wrongKey, "slot 1 was removed")
        }
    }
}
