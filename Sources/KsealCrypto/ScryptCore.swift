/// scrypt (RFC 7914) in Swift, for the kernel-only build, which has no swift-crypto: PBKDF2's
/// HMAC-SHA256 comes from the backend (the kernel's), and ROMix, BlockMix and Salsa20/8 are
/// here. It is compiled in every build, so the host tests check it against swift-crypto and
/// the RFC's vectors (ScryptTests); the default build derives through swift-crypto.
enum ScryptCore {
    /// - Parameter hmac: makes an HMAC-SHA256 context keyed with the passphrase.
    static func deriveKey(passphrase: [UInt8], salt: [UInt8], log2N: Int, r: Int, p: Int, length: Int,
                          hmac: ([UInt8]) throws -> any DigestContext) throws -> [UInt8] {
        let mac = try hmac(passphrase)
        let blockBytes = 128 * r
        var blocks = try pbkdf2(mac, salt: salt, length: p * blockBytes)
        let words = blockBytes / 4
        let n = 1 << log2N
        // V: N blocks of 32·r words; X, T: the block being mixed and scratch.
        let v = UnsafeMutablePointer<UInt32>.allocate(capacity: n * words)
        defer { v.deallocate() }
        let x = UnsafeMutablePointer<UInt32>.allocate(capacity: words), t = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
        defer {
            x.deallocate()
            t.deallocate()
        }
        for i in 0..<p {
            blocks.withUnsafeMutableBytes { bytes in
                let block = bytes.baseAddress! + i * blockBytes
                for w in 0..<words { x[w] = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4 * w, as: UInt32.self)) }
                romix(x, v: v, t: t, n: n, r: r)
                for w in 0..<words { block.storeBytes(of: x[w].littleEndian, toByteOffset: 4 * w, as: UInt32.self) }
            }
        }
        return try pbkdf2(mac, salt: blocks, length: length)
    }

    /// PBKDF2-HMAC-SHA256 with one iteration (all scrypt uses): T_i = HMAC(P, S ‖ INT(i)).
    static func pbkdf2(_ mac: any DigestContext, salt: [UInt8], length: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(length + 32)
        var i: UInt32 = 1
        while out.count < length {
            try mac.update(salt)
            try mac.update(withUnsafeBytes(of: i.bigEndian) { Array($0) })
            out += try mac.finalize()
            i += 1
        }
        return Array(out.prefix(length))
    }

    /// RFC 7914 §5, in place on `x` (32·r words).
    private static func romix(_ x: UnsafeMutablePointer<UInt32>, v: UnsafeMutablePointer<UInt32>, t: UnsafeMutablePointer<UInt32>, n: Int, r: Int) {
        let words = 32 * r
        let s = UnsafeMutablePointer<UInt32>.allocate(capacity: 16)
        defer { s.deallocate() }
        for i in 0..<n {
            (v + i * words).update(from: x, count: words)
            blockMix(x, t: t, x: s, r: r)
        }
        for _ in 0..<n {
            // Integerify: the first word of the last 64-byte block, mod N.
            let j = Int(x[(2 * r - 1) * 16]) & (n - 1)
            let vj = v + j * words
            for w in 0..<words { x[w] ^= vj[w] }
            blockMix(x, t: t, x: s, r: r)
        }
    }

    /// RFC 7914 §4: Y_i = Salsa20/8(X ⊕ B_i), even Y first, then odd; in place on `b`, through
    /// `t` (32·r words) and the running block `x` (16 words).
    private static func blockMix(_ b: UnsafeMutablePointer<UInt32>, t: UnsafeMutablePointer<UInt32>, x: UnsafeMutablePointer<UInt32>, r: Int) {
        x.update(from: b + (2 * r - 1) * 16, count: 16)
        for i in 0..<(2 * r) {
            let bi = b + i * 16
            for w in 0..<16 { x[w] ^= bi[w] }
            salsa20_8(x)
            // Even blocks go to the first half of the output, odd ones to the second.
            (t + ((i & 1) * r + i / 2) * 16).update(from: x, count: 16)
        }
        b.update(from: t, count: 32 * r)
    }

    /// Salsa20/8 core (RFC 7914 §3), in place on 16 words.
    static func salsa20_8(_ b: UnsafeMutablePointer<UInt32>) {
        var x0 = b[0], x1 = b[1], x2 = b[2], x3 = b[3], x4 = b[4], x5 = b[5], x6 = b[6], x7 = b[7]
        var x8 = b[8], x9 = b[9], x10 = b[10], x11 = b[11], x12 = b[12], x13 = b[13], x14 = b[14], x15 = b[15]
        @inline(__always) func rotl(_ a: UInt32, _ n: UInt32) -> UInt32 { (a << n) | (a >> (32 - n)) }
        for _ in 0..<4 {
            // Columns.
            x4 ^= rotl(x0 &+ x12, 7); x8 ^= rotl(x4 &+ x0, 9); x12 ^= rotl(x8 &+ x4, 13); x0 ^= rotl(x12 &+ x8, 18)
            x9 ^= rotl(x5 &+ x1, 7); x13 ^= rotl(x9 &+ x5, 9); x1 ^= rotl(x13 &+ x9, 13); x5 ^= rotl(x1 &+ x13, 18)
            x14 ^= rotl(x10 &+ x6, 7); x2 ^= rotl(x14 &+ x10, 9); x6 ^= rotl(x2 &+ x14, 13); x10 ^= rotl(x6 &+ x2, 18)
            x3 ^= rotl(x15 &+ x11, 7); x7 ^= rotl(x3 &+ x15, 9); x11 ^= rotl(x7 &+ x3, 13); x15 ^= rotl(x11 &+ x7, 18)
            // Rows.
            x1 ^= rotl(x0 &+ x3, 7); x2 ^= rotl(x1 &+ x0, 9); x3 ^= rotl(x2 &+ x1, 13); x0 ^= rotl(x3 &+ x2, 18)
            x6 ^= rotl(x5 &+ x4, 7); x7 ^= rotl(x6 &+ x5, 9); x4 ^= rotl(x7 &+ x6, 13); x5 ^= rotl(x4 &+ x7, 18)
            x11 ^= rotl(x10 &+ x9, 7); x8 ^= rotl(x11 &+ x10, 9); x9 ^= rotl(x8 &+ x11, 13); x10 ^= rotl(x9 &+ x8, 18)
            x12 ^= rotl(x15 &+ x14, 7); x13 ^= rotl(x12 &+ x15, 9); x14 ^= rotl(x13 &+ x12, 13); x15 ^= rotl(x14 &+ x13, 18)
        }
        b[0] &+= x0; b[1] &+= x1; b[2] &+= x2; b[3] &+= x3; b[4] &+= x4; b[5] &+= x5; b[6] &+= x6; b[7] &+= x7
        b[8] &+= x8; b[9] &+= x9; b[10] &+= x10; b[11] &+= x11; b[12] &+= x12; b[13] &+= x13; b[14] &+= x14; b[15] &+= x15
    }
}
