/// HKDF-SHA256 (RFC 5869) on a backend's HMAC, so on the kernel backend the derivation runs in
/// the kernel's `hmac(sha256)`.
public enum HKDFSHA256 {
    /// Extract-then-expand.
    /// - Parameters:
    ///   - backend: whose HMAC-SHA256 to use.
    ///   - inputKey: the input keying material.
    ///   - salt: optional salt; empty means 32 zero bytes, as the RFC says.
    ///   - info: context and label.
    ///   - outputLength: at most 255 × 32 bytes.
    /// - Throws: ``CryptoError`` (`.invalidArgument` for an impossible length).
    public static func deriveKey(backend: any CryptoBackend, inputKey: [UInt8], salt: [UInt8], info: [UInt8],
                                 outputLength: Int) throws -> [UInt8] {
        let prk = try extract(backend: backend, inputKey: inputKey, salt: salt)
        return try expand(backend: backend, pseudoRandomKey: prk, info: info, outputLength: outputLength)
    }

    public static func extract(backend: any CryptoBackend, inputKey: [UInt8], salt: [UInt8]) throws -> [UInt8] {
        let key = salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt
        return try backend.makeHMACSHA256(key: key).digest(inputKey)
    }

    public static func expand(backend: any CryptoBackend, pseudoRandomKey: [UInt8], info: [UInt8], outputLength: Int) throws -> [UInt8] {
        guard outputLength >= 0, outputLength <= 255 * 32 else {
            throw CryptoError(.invalidArgument, "HKDF-SHA256 output of \(outputLength) bytes is out of range (0…8160)")
        }
        let mac = try backend.makeHMACSHA256(key: pseudoRandomKey)
        var output: [UInt8] = []
        output.reserveCapacity(outputLength)
        var block: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < outputLength {
            block = try mac.digest(block + info + [counter])
            output.append(contentsOf: block.prefix(outputLength - output.count))
            counter &+= 1
        }
        return output
    }
}
