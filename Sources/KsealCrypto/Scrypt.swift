#if UserspaceCrypto
import Crypto
import CryptoExtras
#endif

/// scrypt (RFC 7914), the memory-hard function behind passphrase key slots: through
/// swift-crypto, or in the kernel-only build in Swift (``ScryptCore``) on the backend's HMAC,
/// since the kernel has no scrypt.
public enum Scrypt {
    /// Bytes of memory one derivation takes: 128 · r · N.
    public static func memory(log2N: Int, r: Int) -> Int { 128 * r << log2N }

    /// 32 bytes from `passphrase` and `salt` with cost N = 2^log2N, block size r, parallelism p.
    /// - Parameter backend: gives PBKDF2's HMAC-SHA256 in the kernel-only build.
    /// - Throws: ``CryptoError`` `.invalidArgument` for parameters scrypt does not take.
    public static func deriveKey(passphrase: [UInt8], salt: [UInt8], log2N: Int, r: Int, p: Int, backend: any CryptoBackend) throws -> [UInt8] {
        try checkParameters(log2N: log2N, r: r, p: p)
#if UserspaceCrypto
        do {
            let key = try KDF.Scrypt.deriveKey(from: passphrase, salt: salt, outputByteCount: 32, rounds: 1 << log2N, blockSize: r, parallelism: p,
                                               maxMemory: memory(log2N: log2N, r: r) * p + (1 << 20))
            return key.withUnsafeBytes { Array($0) }
        } catch {
            throw CryptoError(.failure, "scrypt failed: \(error)")
        }
#else
        return try swiftDerivation(passphrase: passphrase, salt: salt, log2N: log2N, r: r, p: p, backend: backend)
#endif
    }

    /// The same derivation always in Swift on `backend`'s HMAC, as the kernel-only build makes
    /// it: for kseal-bench and the tests that hold it to swift-crypto.
    public static func deriveKeyInSwift(passphrase: [UInt8], salt: [UInt8], log2N: Int, r: Int, p: Int, backend: any CryptoBackend) throws -> [UInt8] {
        try checkParameters(log2N: log2N, r: r, p: p)
        return try swiftDerivation(passphrase: passphrase, salt: salt, log2N: log2N, r: r, p: p, backend: backend)
    }

    private static func swiftDerivation(passphrase: [UInt8], salt: [UInt8], log2N: Int, r: Int, p: Int, backend: any CryptoBackend) throws -> [UInt8] {
        try ScryptCore.deriveKey(passphrase: passphrase, salt: salt, log2N: log2N, r: r, p: p, length: 32) { try backend.makeHMACSHA256(key: $0) }
    }

    private static func checkParameters(log2N: Int, r: Int, p: Int) throws {
        guard (1...30).contains(log2N), r >= 1, p >= 1 else { throw CryptoError(.invalidArgument, "scrypt parameters N=2^\(log2N), r=\(r), p=\(p)") }
    }
}
