import AFAlg
import Foundation
import KsealArchive
import KsealCrypto
import KsealTestSupport
import XCTest

/// Archives on the kernel backend, compared with the user-space backend on the same inputs.
/// Skips on a host without AF_ALG; fails instead inside the kernel harness.
final class KernelArchiveTests: XCTestCase {
    /// Fixed secrets, same inputs: both backends write the same bytes, and those are the vector's.
    func testKernelReproducesTheVectorByteForByte() throws {
        let kernel = try KernelRequirement.backend()
        let vector = try FormatVector()
        let scratch = try ScratchDirectory()
        let fromKernel = try vector.recreate(backend: kernel, in: try scratch.sub("k"))
        let fromUser = try vector.recreate(backend: UserspaceBackend(), in: try scratch.sub("u"))
        XCTAssertTrue(fromKernel == fromUser, "kernel and user-space archives differ")
        XCTAssertTrue(fromKernel == Array(try Data(contentsOf: URL(fileURLWithPath: vector.archivePath))), "kernel archive differs from the vector")
        let reader = try ArchiveReader(.file(vector.archivePath), keyFile: vector.keyFile, backend: kernel)
        XCTAssertTrue(try Verifier.verify(reader).isIntact)
    }

    /// Format 2 through the kernel: its vector opens and verifies (v2 labels and AADs), and both
    /// backends write the same v2 bytes, zero runs included, from the same tree and secrets.
    func testKernelReadsAndWritesFormat2LikeUserSpace() throws {
        let kernel = try KernelRequirement.backend()
        let vector = try FormatVector("v2-rootfs")
        let reader = try ArchiveReader(.file(vector.archivePath), keyFile: vector.keyFile, backend: kernel)
        XCTAssertEqual(reader.header.version, .v2)
        XCTAssertTrue(try Verifier.verify(reader).isIntact)
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("tree")
        var random = TestRandom(seed: 10)
        try Fixture.write(random.bytes(200_000), to: tree + "/data")
        // 3 MiB with data at 1 MiB: holes (or zeros, where the file system cannot tell) around it.
        let sparse = open(tree + "/sparse", O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        XCTAssertEqual(pwrite(sparse, random.bytes(5000), 5000, 1 << 20), 5000)
        XCTAssertEqual(ftruncate(sparse, 3 << 20), 0)
        close(sparse)
        var options = vector.options
        options.chunkSize = 65536
        var archives: [[UInt8]] = []
        for (backend, name) in [(kernel as any CryptoBackend, "k"), (UserspaceBackend(), "u")] {
            let archive = scratch.path + "/\(name).kseal"
            try Fixture.create(archive, inputs: ["tree"], in: scratch.path, backend: backend, options: options, key: vector.keyFile)
            archives.append(try Fixture.bytes(archive))
        }
        XCTAssertTrue(archives[0] == archives[1], "kernel and user-space v2 archives differ")
        let written = try ArchiveReader(.file(scratch.path + "/k.kseal"), keyFile: vector.keyFile, backend: kernel)
        let file = try XCTUnwrap(written.index.allEntries().first { $0.path.elementsEqual("tree/sparse".utf8) })
        XCTAssertEqual(file.extents?.first, .zeros(1 << 20), "the hole before the data is a zero run")
        let out = try scratch.sub("out")
        XCTAssertTrue(try Extractor.extract(written, to: .directory(out)).isComplete)
        XCTAssertEqual(try TreeSnapshot(of: tree).differences(from: TreeSnapshot(of: out + "/tree")), [])
    }

    /// Each backend reads what the other wrote, on a real tree.
    func testCrossBackendRoundTrips() throws {
        let kernel = try KernelRequirement.backend()
        let user = UserspaceBackend()
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("tree")
        // No subprocesses here: user-mode-linux lacks AF_UNIX, which Foundation's Process needs.
        let manager = FileManager.default
        for source in ["/opt/swift/usr/lib/swift/linux/libFoundationEssentials.so", "/usr/share/doc/bash", "/usr/share/doc/zstd"]
        where manager.fileExists(atPath: source) {
            try manager.copyItem(atPath: source, toPath: tree + "/" + (source as NSString).lastPathComponent)
        }
        var random = TestRandom(seed: 8)
        let content = random.bytes(1_000_000)
        try Fixture.write(content, to: tree + "/random")
        try Fixture.write(content, to: tree + "/copy")
        try manager.createSymbolicLink(atPath: tree + "/link", withDestinationPath: "random")
        try manager.linkItem(atPath: tree + "/random", toPath: tree + "/hard")
        for (writer, reader, name) in [(kernel as any CryptoBackend, user as any CryptoBackend, "k2u"), (user, kernel, "u2k")] {
            let archive = scratch.path + "/\(name).kseal"
            try Fixture.create(archive, inputs: ["tree"], in: scratch.path, backend: writer)
            XCTAssertTrue(try Fixture.verify(archive, backend: reader).isIntact, name)
            let out = try scratch.sub("\(name)-out")
            XCTAssertTrue(try Fixture.extract(archive, to: out, backend: reader).isComplete, name)
            XCTAssertEqual(try TreeSnapshot(of: tree).differences(from: TreeSnapshot(of: out + "/tree")), [], name)
        }
    }

    /// A key the kernel holds as a `logon` key, which user space cannot read back, opens (verify
    /// and extract) an archive a host sealed with the same key file: the slot's wrapping key is
    /// computed by `hmac(sha256)` keyed by serial, so the key never enters this process. Before
    /// Linux 6.2 the exact refusal, which the CLI turns into status 4.
    func testALogonKeyOpensWhatTheKeyFileSealed() throws {
        let kernel = try KernelRequirement.backend()
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("t")
        var random = TestRandom(seed: 11)
        try Fixture.write(random.bytes(300_000), to: tree + "/f")
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["t"], in: scratch.path, backend: UserspaceBackend(), key: Fixture.key)
        let serial = try Fixture.keyBytes.withUnsafeBytes {
            try KernelKeyring.add(type: .logon, description: "kseal-test:fleet", payload: $0, to: .process)
        }
        defer { try? KernelKeyring.invalidate(serial: serial) }
        XCTAssertThrowsError(try KernelKeyring.read(serial: serial), "a logon key is not readable by user space")
        if KernelRelease.isBefore(6, 2) {
            XCTAssertThrowsError(try KeyFile.inKernel("kseal-test:fleet")) {
                XCTAssertEqual(($0 as? ArchiveError)?.code, .cryptoUnavailable)
                XCTAssertTrue("\($0)".contains("needs Linux 6.2 or later"), "\($0)")
            }
            return
        }
        for key in [try KeyFile.inKernel("kseal-test:fleet"), try KeyFile.inKernel(String(serial))] {
            XCTAssertTrue(key.isInKernel)
            let reader = try ArchiveReader(.file(archive), keyFile: key, backend: kernel)
            XCTAssertTrue(try Verifier.verify(reader).isIntact, key.name)
            let out = try scratch.sub("out-\(key.name.count)")
            XCTAssertTrue(try Extractor.extract(ArchiveReader(.file(archive), keyFile: key, backend: kernel), to: .directory(out)).isComplete)
            XCTAssertEqual(try TreeSnapshot(of: tree).differences(from: TreeSnapshot(of: out + "/t")), [])
        }
        // The kernel key also makes archives the key file opens; format 1 cannot use it.
        let inKernel = try KeyFile.inKernel("kseal-test:fleet")
        try Fixture.create(scratch.path + "/b.kseal", inputs: ["t"], in: scratch.path, backend: kernel, key: inKernel)
        XCTAssertTrue(try Fixture.verify(scratch.path + "/b.kseal", backend: UserspaceBackend(), key: Fixture.key).isIntact)
        var v1 = CreateOptions()
        v1.formatVersion = .v1
        XCTAssertThrowsError(try Fixture.create(scratch.path + "/c.kseal", inputs: ["t"], in: scratch.path, backend: kernel, options: v1, key: inKernel)) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .usage, "\($0)")
        }
        // A wrong kernel key is a wrong key, as a wrong key file is.
        let other = try Array(repeating: UInt8(0xA5), count: 32).withUnsafeBytes {
            try KernelKeyring.add(type: .logon, description: "kseal-test:other", payload: $0, to: .process)
        }
        defer { try? KernelKeyring.invalidate(serial: other) }
        XCTAssertThrowsError(try ArchiveReader(.file(archive), keyFile: KeyFile.inKernel("kseal-test:other"), backend: kernel)) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .wrongKey, "\($0)")
        }
    }

    /// An ECDSA P-256 signature is checked by the kernel (keyctl pkey_verify on the trusted key's
    /// certificate) where it can, Linux 6.12 and later; on 6.1 in user space, saying why. The
    /// kernel and user space give the same verdicts, on a good signature and an altered one.
    func testP256SignaturesAreCheckedByTheKernelWhereItCan() throws {
        let kernel = try KernelRequirement.backend()
        let scratch = try ScratchDirectory()
        try Fixture.write(Array("signed content\n".utf8), to: try scratch.sub("t") + "/f")
        let signer = try SigningKey.generate(.ecdsaP256)
        try signer.write(to: scratch.path + "/release")
        let trust = TrustPolicy([try PublicSigningKey.read(path: scratch.path + "/release.pub")])
        var options = CreateOptions()
        options.signingKey = signer
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["t"], in: scratch.path, backend: kernel, options: options)
        let reader = try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: kernel, trust: trust)
        XCTAssertEqual(reader.signature, .signed(by: trust.keys[0], trusted: true))
        let checkedBy = reader.signatureCheckedBy ?? ""
        if KernelRelease.isBefore(6, 12) {
            XCTAssertTrue(checkedBy.hasPrefix("user space (the kernel cannot hold the signing key"), checkedBy)
        } else {
            XCTAssertEqual(checkedBy, "kernel (keyctl pkey_verify)")
        }
        XCTAssertTrue(try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: UserspaceBackend(), trust: trust).signatureCheckedBy?
            .hasPrefix("user space") ?? false)
        // One bit of the signature flipped: both refuse it.
        var bytes = try Fixture.bytes(archive)
        bytes[Int(reader.frontLength) - 1] ^= 1
        try Fixture.write(bytes, to: archive)
        for backend in [kernel as any CryptoBackend, UserspaceBackend()] {
            XCTAssertThrowsError(try ArchiveReader(.file(archive), keyFile: Fixture.key, backend: backend, trust: trust), "\(backend.kind)") {
                XCTAssertEqual(($0 as? ArchiveError)?.code, .untrusted, "\(backend.kind): \($0)")
            }
        }
    }

    /// A damaged frame is an authentication failure on the kernel path too (EBADMSG).
    func testKernelDetectsTampering() throws {
        let kernel = try KernelRequirement.backend()
        let scratch = try ScratchDirectory()
        let tree = try scratch.sub("t")
        var random = TestRandom(seed: 9)
        try Fixture.write(random.bytes(300_000), to: tree + "/f")
        let archive = scratch.path + "/a.kseal"
        try Fixture.create(archive, inputs: ["t"], in: scratch.path, backend: kernel)
        let regions = try Regions(archive: archive)
        var bytes = try Fixture.bytes(archive)
        bytes[regions.frames[1].lowerBound + 10] ^= 1
        try Fixture.write(bytes, to: archive)
        let report = try Fixture.verify(archive, backend: kernel)
        XCTAssertEqual(report.damagedFiles.map { String(decoding: $0.path, as: UTF8.self) }, ["t/f"])
        XCTAssertTrue(report.damagedFiles[0].reason.contains("authentication failed"), report.damagedFiles[0].reason)
        XCTAssertThrowsError(try ArchiveReader(.file(archive), keyFile: Fixture.otherKey, backend: kernel)) {
            XCTAssertEqual(($0 as? ArchiveError)?.code, .wrongKey)
        }
    }
}

/// Linux 7.3 with `af_alg_restrict` = 1: `auto` falls back to user space and writes exactly the
/// bytes of the format vector, as the kernel does where it is allowed. Restricted phase only.
final class RestrictedArchiveTests: XCTestCase {
    func testAutoWritesTheVectorBytesInUserSpace() throws {
        try RestrictedKernel.check()
        let selection = try CryptoBackends.select(.auto)
        XCTAssertEqual(selection.backend.kind, .userspace, selection.reason)
        let vector = try FormatVector()
        let written = try vector.recreate(backend: selection.backend, in: try ScratchDirectory().sub("auto"))
        XCTAssertTrue(written == Array(try Data(contentsOf: URL(fileURLWithPath: vector.archivePath))), "auto's archive differs from the vector")
    }
}
