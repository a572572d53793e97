import KsealCrypto
import KsealTestSupport
import XCTest

/// Checks run against each backend; the kernel and user-space test classes call these.
enum BackendChecks {
    static func knownAnswers(_ backend: any CryptoBackend, file: StaticString = #filePath, line: UInt = #line) throws {
        for v in try Vectors.load("aes256gcm.json", as: [Vectors.GCM].self) {
            let context = try backend.aes256GCM(key: hex(v.key)).makeContext()
            let sealed = try context.seal(hex(v.plaintext), nonce: hex(v.nonce), aad: hex(v.aad))
            XCTAssertEqual(sealed.hexString, v.ciphertext + v.tag, "\(backend.kind) seal: \(v.source)", file: file, line: line)
            let opened = try context.open(hex(v.ciphertext + v.tag), nonce: hex(v.nonce), aad: hex(v.aad))
            XCTAssertEqual(opened.hexString, v.plaintext, "\(backend.kind) open: \(v.source)", file: file, line: line)
        }
        let sha = try backend.makeSHA256()
        for v in try Vectors.load("sha256.json", as: [Vectors.SHA].self) {
            XCTAssertEqual(try sha.digest(v.message).hexString, v.digest, "\(backend.kind): \(v.source)", file: file, line: line)
        }
        for v in try Vectors.load("hmac-sha256.json", as: [Vectors.MAC].self) {
            let mac = try backend.makeHMACSHA256(key: hex(v.key)).digest(hex(v.data))
            XCTAssertEqual(mac.hexString, v.mac, "\(backend.kind): \(v.source)", file: file, line: line)
        }
        for v in try Vectors.load("hkdf-sha256.json", as: [Vectors.HKDF].self) {
            let prk = try HKDFSHA256.extract(backend: backend, inputKey: hex(v.ikm), salt: hex(v.salt))
            XCTAssertEqual(prk.hexString, v.prk, "\(backend.kind) extract: \(v.source)", file: file, line: line)
            let okm = try HKDFSHA256.deriveKey(backend: backend, inputKey: hex(v.ikm), salt: hex(v.salt), info: hex(v.info), outputLength: v.length)
            XCTAssertEqual(okm.hexString, v.okm, "\(backend.kind) expand: \(v.source)", file: file, line: line)
        }
    }

    /// scrypt in Swift on this backend's HMAC (the kernel-only build's) gives RFC 7914's keys (their
    /// first 32 bytes: PBKDF2's output is a prefix of a longer one), for the vectors whose work,
    /// p · N, is at most `maxWork` (the harness's debug build under emulation is slow); then the
    /// same as swift-crypto on random inputs, passphrases longer than HMAC's block included.
    static func scrypt(_ backend: any CryptoBackend, maxWork: Int, randomCases: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        var checked = 0
        for v in try Vectors.load("scrypt.json", as: [Vectors.Scrypt].self) where v.p << v.log2N <= maxWork {
            let key = try Scrypt.deriveKeyInSwift(passphrase: hex(v.passphrase), salt: hex(v.salt), log2N: v.log2N, r: v.r, p: v.p, backend: backend)
            XCTAssertEqual(key.hexString, String(v.key.prefix(64)), "\(backend.kind): \(v.source)", file: file, line: line)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0, "no scrypt vector within the work limit", file: file, line: line)
        var random = TestRandom(seed: 77)
        let oracle = UserspaceBackend()
        for i in 0..<randomCases {
            let passphrase = random.bytes(1 + Int(random.next() % 100)), salt = random.bytes(Int(random.next() % 90))
            let log2N = 1 + Int(random.next() % 8), r = 1 + Int(random.next() % 3), p = 1 + Int(random.next() % 2)
            XCTAssertEqual(try Scrypt.deriveKeyInSwift(passphrase: passphrase, salt: salt, log2N: log2N, r: r, p: p, backend: backend),
                           try Scrypt.deriveKey(passphrase: passphrase, salt: salt, log2N: log2N, r: r, p: p, backend: oracle),
                           "\(backend.kind): case \(i), N=2^\(log2N) r=\(r) p=\(p), \(passphrase.count)-byte passphrase", file: file, line: line)
        }
    }

    /// Streaming a message in uneven pieces gives the one-shot digest, and the context is reusable.
    static func streaming(_ backend: any CryptoBackend, file: StaticString = #filePath, line: UInt = #line) throws {
        var random = TestRandom(seed: 7)
        let message = random.bytes(300_000)
        for context in [try backend.makeSHA256(), try backend.makeHMACSHA256(key: random.bytes(40))] {
            let whole = try context.digest(message)
            for cut in [[0], [1, 64, 4096], [65_536, 131_072, 299_999]] {
                var start = 0
                for end in cut + [message.count] {
                    try message[start..<end].withUnsafeBytes { try context.update($0) }
                    start = end
                }
                XCTAssertEqual(try context.finalize(), whole, "\(backend.kind) streamed in pieces ending at \(cut)", file: file, line: line)
            }
            XCTAssertEqual(try context.digest(message), whole, file: file, line: line)
        }
        XCTAssertEqual(try backend.makeSHA256().finalize().hexString,
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "digest of no update", file: file, line: line)
    }

    /// Every tampering is an authentication failure; bad arguments are invalidArgument.
    /// Opening in place, over the sealed bytes themselves (what readers do with compressed
    /// frames): the plaintext comes out right, and a damaged frame still fails.
    static func inPlace(_ backend: any CryptoBackend, file: StaticString = #filePath, line: UInt = #line) throws {
        var random = TestRandom(seed: 12)
        let context = try backend.aes256GCM(key: random.bytes(32)).makeContext()
        let nonce = random.bytes(12), aad = random.bytes(57)
        for size in [1, 15, 16, 1000, 4096, 131_071, 131_072] {
            let plaintext = random.bytes(size)
            var buffer = try context.seal(plaintext, nonce: nonce, aad: aad)
            let count = try buffer.withUnsafeMutableBytes { b in
                try nonce.withUnsafeBytes { n in try aad.withUnsafeBytes { a in
                    try context.open(UnsafeRawBufferPointer(b), nonce: n, aad: a, into: UnsafeMutableRawBufferPointer(rebasing: b[0..<size])) } }
            }
            XCTAssertEqual(count, size, "\(backend.kind): \(size) bytes in place", file: file, line: line)
            XCTAssertEqual(Array(buffer.prefix(size)), plaintext, "\(backend.kind): \(size) bytes in place", file: file, line: line)

            var damaged = try context.seal(plaintext, nonce: nonce, aad: aad)
            damaged[size / 2] ^= 0x20
            XCTAssertThrowsError(try damaged.withUnsafeMutableBytes { b in
                try nonce.withUnsafeBytes { n in try aad.withUnsafeBytes { a in
                    try context.open(UnsafeRawBufferPointer(b), nonce: n, aad: a, into: UnsafeMutableRawBufferPointer(rebasing: b[0..<size])) } }
            }, "\(backend.kind): damaged, \(size) bytes in place", file: file, line: line) { error in
                XCTAssertEqual((error as? CryptoError)?.code, .authenticationFailed, "\(backend.kind): \(error)", file: file, line: line)
            }
        }
    }

    static func failures(_ backend: any CryptoBackend, file: StaticString = #filePath, line: UInt = #line) throws {
        var random = TestRandom(seed: 11)
        let key = random.bytes(32), nonce = random.bytes(12), aad = random.bytes(40), plaintext = random.bytes(1000)
        let context = try backend.aes256GCM(key: key).makeContext()
        let sealed = try context.seal(plaintext, nonce: nonce, aad: aad)

        func expect(_ code: CryptoError.Code, _ what: String, _ body: () throws -> Void) {
            XCTAssertThrowsError(try body(), "\(backend.kind): \(what)", file: file, line: line) { error in
                XCTAssertEqual((error as? CryptoError)?.code, code, "\(backend.kind): \(what): \(error)", file: file, line: line)
            }
        }
        for position in [0, 500, plaintext.count - 1, plaintext.count, sealed.count - 1] {
            var bad = sealed
            bad[position] ^= 0x01
            expect(.authenticationFailed, "flipped sealed byte \(position)") { _ = try context.open(bad, nonce: nonce, aad: aad) }
        }
        var badAAD = aad
        badAAD[3] ^= 0x80
        expect(.authenticationFailed, "flipped AAD byte") { _ = try context.open(sealed, nonce: nonce, aad: badAAD) }
        var badNonce = nonce
        badNonce[11] ^= 1
        expect(.authenticationFailed, "other nonce") { _ = try context.open(sealed, nonce: badNonce, aad: aad) }
        let other = try backend.aes256GCM(key: random.bytes(32)).makeContext()
        expect(.authenticationFailed, "wrong key") { _ = try other.open(sealed, nonce: nonce, aad: aad) }
        expect(.authenticationFailed, "truncated to less than a tag") { _ = try context.open(Array(sealed.prefix(15)), nonce: nonce, aad: aad) }
        expect(.authenticationFailed, "truncated by one byte") { _ = try context.open(Array(sealed.dropLast()), nonce: nonce, aad: aad) }
        // The context still works after failures.
        XCTAssertEqual(try context.open(sealed, nonce: nonce, aad: aad), plaintext, file: file, line: line)

        expect(.invalidArgument, "empty AAD") { _ = try context.seal(plaintext, nonce: nonce, aad: []) }
        expect(.invalidArgument, "11-byte nonce") { _ = try context.seal(plaintext, nonce: Array(nonce.prefix(11)), aad: aad) }
        expect(.invalidArgument, "16-byte key") { _ = try backend.aes256GCM(key: random.bytes(16)) }
        expect(.invalidArgument, "small output buffer") {
            var out = [UInt8](repeating: 0, count: plaintext.count)
            _ = try plaintext.withUnsafeBytes { p in try nonce.withUnsafeBytes { n in try aad.withUnsafeBytes { a in
                try out.withUnsafeMutableBytes { try context.seal(p, nonce: n, aad: a, into: $0) } } } }
        }
    }
}
