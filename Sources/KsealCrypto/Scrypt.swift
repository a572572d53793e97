#if UserspaceCrypto
import Crypto
import CryptoExtras
#endif

/// scrypt (RFC 7914), the memory-hard function behind passphrase key slots, in user space
/// (swift-crypto): the kernel has no scrypt, so the kernel-only build cannot open passphrase slots.
public enum Scrypt {
    /// Bytes of memory one derivation takes: 128 · r · N.
    public static func memory(log2N: Int, r: Int) -> Int { 128 * r << log2N }

    /// 32 bytes from `passphrase` and `salt` with cost N = 2^log2N, block size r, parallelism p.
    /// - Throws: ``CryptoError`` `.invalidArgument` for parameters scrypt does not take;
    ///   `.unavailable` in the kernel-only build.
    public static func deriveKey(passphrase: [UInt8], salt: [UInt8], log2N: Int, r: Int, p: Int) throws -> [UInt8] {
        guard (1...30).contains(log2N), r >= 1, p >= 1 else { throw CryptoError(.invalidArgument, "scrypt parameters N=2^\(log2N), r=\(r), p=\(p)") }
#if UserspaceCrypto
        do {
            let key = try KDF.Scrypt.deriveKey(from: passphrase, salt: salt, outputByteCount: 32, rounds: 1 << log2N, blockSize: r, parallelism: p,
                                               maxMemory: memory(log2N: log2N, r: r) * p + (1 << 20))
            return key.withUnsafeBytes { Array($0) }
        } catch {
            throw CryptoError(.failure, "scrypt failed: \(error)")
        }
#else
        throw CryptoError(.unavailable, "passphrases need scrypt, which the kernel does not have, and this kseal is the kernel-only build; open the archive with a key")
#endif
    }
}
