import Foundation
import KsealCrypto

/// Published test vectors, kept as data files in `Vectors/` (each checked against an independent
/// implementation when it was added).
enum Vectors {
    struct GCM: Decodable {
        let source, key, nonce, aad, plaintext, ciphertext, tag: String
    }
    struct SHA: Decodable {
        let source: String
        let message_hex: String
        let `repeat`: Int
        let digest: String
        var message: [UInt8] {
            let unit = hex(message_hex)
            return Array([[UInt8]](repeating: unit, count: self.repeat).joined())
        }
    }
    struct MAC: Decodable {
        let source, key, data, mac: String
    }
    struct HKDF: Decodable {
        let source, ikm, salt, info, prk, okm: String
        let length: Int
    }

    struct Scrypt: Decodable {
        let source, passphrase, salt, key: String
        let log2N, r, p: Int
    }

    static func load<T: Decodable>(_ name: String, as: [T].Type = [T].self) throws -> [T] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/\(name)")
        return try JSONDecoder().decode([T].self, from: Data(contentsOf: url))
    }
}
