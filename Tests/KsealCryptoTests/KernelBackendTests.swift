import AFAlg
import Crypto
import Foundation
import KsealCrypto
import KsealTestSupport
import XCTest

/// The kernel backend on a real kernel. Skips on a host without AF_ALG; inside the kernel harness
/// (KSEAL_REQUIRE_KERNEL=1) it fails instead.
final class KernelBackendTests: XCTestCase {
    func testKnownAnswers() throws { try BackendChecks.knownAnswers(try KernelRequirement.backend()) }
    func testStreamingDigests() throws { try BackendChecks.streaming(try KernelRequirement.backend()) }
    func testFailures() throws { try BackendChecks.failures(try KernelRequirement.backend()) }
    func testOpenInPlace() throws { try BackendChecks.inPlace(try KernelRequirement.backend()) }
    func testScryptInSwiftOnTheKernelHMAC() throws { try BackendChecks.scrypt(try KernelRequirement.backend(), maxWork: 16, randomCases: 6) }

    func testAutoChoosesTheKernel() throws {
        _ = try KernelRequirement.backend()
        let selection = try CryptoBackends.select(.auto)
        XCTAssertEqual(selection.backend.kind, .kernel, selection.reason)
        XCTAssertTrue(selection.reason.hasPrefix("kernel"), selection.reason)
    }

    /// Kernel and user space give identical bytes on the same random inputs, and each opens the
    /// other's output, at every size that matters up to the largest one operation takes.
    func testDifferentialAEAD() throws {
        let kernel = try KernelRequirement.backend()
        let user = UserspaceBackend()
        var random = TestRandom(seed: 42)
        let key = random.bytes(32)
        let kernelContext = try kernel.aes256GCM(key: key).makeContext()
        let userContext = try user.aes256GCM(key: key).makeContext()
        let aadSizes = [1, 13, 64]
        let maxSize = kernelContext.maxMessageSize
        XCTAssertGreaterThanOrEqual(maxSize, 131_072 + 88, "the format's largest frame must fit one operation")
        for size in [0, 1, 15, 16, 17, 4095, 4096, 65536, maxSize - 64] {
            for aadSize in aadSizes {
                let plaintext = random.bytes(size), nonce = random.bytes(12), aad = random.bytes(aadSize)
                let fromKernel = try kernelContext.seal(plaintext, nonce: nonce, aad: aad)
                let fromUser = try userContext.seal(plaintext, nonce: nonce, aad: aad)
                XCTAssertEqual(fromKernel, fromUser, "seal of \(size) bytes with \(aadSize) bytes of AAD")
                XCTAssertEqual(try kernelContext.open(fromUser, nonce: nonce, aad: aad), plaintext, "kernel opens user space, \(size)")
                XCTAssertEqual(try userContext.open(fromKernel, nonce: nonce, aad: aad), plaintext, "user space opens kernel, \(size)")
            }
        }
        // Exactly the maximum (AAD + plaintext), and one byte more: a clear error, not a hang.
        let aad = random.bytes(64), nonce = random.bytes(12)
        let largest = random.bytes(maxSize - aad.count)
        XCTAssertEqual(try kernelContext.seal(largest, nonce: nonce, aad: aad), try userContext.seal(largest, nonce: nonce, aad: aad))
        XCTAssertThrowsError(try kernelContext.seal(largest + [0], nonce: nonce, aad: aad)) {
            XCTAssertEqual(($0 as? KsealCrypto.CryptoError)?.code, .messageTooLarge, "\($0)")
        }
        let sealedLargest = try userContext.seal(largest, nonce: nonce, aad: aad)
        XCTAssertThrowsError(try kernelContext.open(sealedLargest + [0], nonce: nonce, aad: aad)) {
            XCTAssertEqual(($0 as? KsealCrypto.CryptoError)?.code, .messageTooLarge, "\($0)")
        }
        XCTAssertEqual(try kernelContext.open(sealedLargest, nonce: nonce, aad: aad), largest)
    }

    func testDifferentialDigests() throws {
        let kernel = try KernelRequirement.backend()
        var random = TestRandom(seed: 43)
        let kernelSHA = try kernel.makeSHA256()
        for size in [0, 1, 15, 16, 17, 55, 56, 63, 64, 4095, 4096, 65536, 1 << 20] {
            let message = random.bytes(size)
            XCTAssertEqual(try kernelSHA.digest(message), Array(SHA256.hash(data: message)), "sha256 of \(size) bytes")
            let key = random.bytes([0, 1, 32, 64, 65, 200][size % 6])
            let kernelMAC = try kernel.makeHMACSHA256(key: key).digest(message)
            XCTAssertEqual(kernelMAC, Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))),
                           "hmac(sha256) of \(size) bytes, key of \(key.count)")
        }
        let ikm = random.bytes(32), salt = random.bytes(32), info = Array("kseal test".utf8)
        let derived = try HKDFSHA256.deriveKey(backend: kernel, inputKey: ikm, salt: salt, info: info, outputLength: 100)
        let oracle = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: ikm), salt: salt, info: info, outputByteCount: 100)
        XCTAssertEqual(derived, oracle.withUnsafeBytes { Array($0) })
    }

    /// Four threads, each with its own operation sockets, 200 seals and opens each; no mismatch.
    func testThreadsWithTheirOwnOperationSockets() throws {
        let kernel = try KernelRequirement.backend()
        var random = TestRandom(seed: 44)
        let key = random.bytes(32)
        let kernelKey = try kernel.aes256GCM(key: key)
        let oracle = try UserspaceBackend().aes256GCM(key: key)
        let mismatches = Mutex(0)
        let failures = Mutex([String]())
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            do {
                let context = try kernelKey.makeContext()
                let check = try oracle.makeContext()
                let sha = try kernel.makeSHA256()
                var random = TestRandom(seed: UInt64(100 + thread))
                for i in 0..<200 {
                    let plaintext = random.bytes(1 + (i * 977) % 20_000), aad = random.bytes(32)
                    var nonce = [UInt8](repeating: 0, count: 12)
                    nonce[0] = UInt8(thread)
                    nonce[8] = UInt8(i >> 8); nonce[9] = UInt8(i & 255)
                    let sealed = try context.seal(plaintext, nonce: nonce, aad: aad)
                    let expected = try check.seal(plaintext, nonce: nonce, aad: aad)
                    let opened = try context.open(sealed, nonce: nonce, aad: aad)
                    let digest = try sha.digest(plaintext)
                    if sealed != expected || opened != plaintext || digest != Array(SHA256.hash(data: plaintext)) {
                        mismatches.withLock { $0 += 1 }
                    }
                }
            } catch {
                failures.withLock { $0.append("thread \(thread): \(error)") }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(mismatches.withLock { $0 }, 0)
    }

    /// Keys held by the kernel: AES-256-GCM keyed by the serial of a `user` and of a `logon` key that
    /// the test adds gives the published answers on Linux 6.2 and later, and the logon key cannot be
    /// read back. Before 6.2 the same call is "unsupported" and says what it needs.
    func testKeyringKeysKnownAnswers() throws {
        let kernel = try KernelRequirement.backend()
        let before62 = KernelRelease.isBefore(6, 2)
        let support = KernelKeyring.setKeyBySerialSupport()
        XCTAssertEqual(support == .supported, !before62, "Linux \(KernelRelease.string): \(support)")
        var checked = 0
        for v in try Vectors.load("aes256gcm.json", as: [Vectors.GCM].self) {
            for type in [KernelKeyring.KeyType.user, .logon] {
                let serial = try hex(v.key).withUnsafeBytes {
                    try KernelKeyring.add(type: type, description: "kseal-test:\(type.rawValue)", payload: $0, to: .process)
                }
                defer { try? KernelKeyring.invalidate(serial: serial) }
                if type == .logon {
                    XCTAssertThrowsError(try KernelKeyring.read(serial: serial), "a logon key must not be readable") {
                        XCTAssertEqual(($0 as? AFAlgError)?.errno, .notSupported, "\($0)")
                    }
                } else {
                    XCTAssertEqual(try KernelKeyring.read(serial: serial), hex(v.key))
                }
                if before62 {
                    XCTAssertThrowsError(try kernel.aes256GCM(keySerial: serial)) { error in
                        XCTAssertEqual((error as? KsealCrypto.CryptoError)?.code, .unsupported, "\(error)")
                        XCTAssertTrue("\(error)".contains("6.2"), "\(error)")
                    }
                    continue
                }
                let context = try kernel.aes256GCM(keySerial: serial).makeContext()
                let sealed = try context.seal(hex(v.plaintext), nonce: hex(v.nonce), aad: hex(v.aad))
                XCTAssertEqual(sealed.hexString, v.ciphertext + v.tag, "\(type.rawValue) key: \(v.source)")
                XCTAssertEqual(try context.open(sealed, nonce: hex(v.nonce), aad: hex(v.aad)).hexString, v.plaintext)
                checked += 1
            }
        }
        XCTAssertEqual(checked > 0, !before62)
        // A serial that names no key: looked up and refused from 6.2, an unknown option before.
        XCTAssertThrowsError(try kernel.aes256GCM(keySerial: Int32.max)) { error in
            XCTAssertEqual((error as? KsealCrypto.CryptoError)?.code == .unsupported, before62, "\(error)")
        }
    }
}

/// A minimal lock-protected value for test threads.
final class Mutex<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
