#if canImport(Glibc)
import Glibc
#endif

/// The small files that hold keys: key files, signing keys, public keys, passphrases.
enum KeyText {
    static let maxSize = 4096

    /// Reads a key file of at most 4 KiB as text.
    /// - Parameter warnIfShared: for a secret, told when group or others can read the file.
    /// - Throws: ``ArchiveError`` `.usage` when missing, unreadable or too large.
    static func read(_ path: String, what: String, warnIfShared: ((String) -> Void)? = nil) throws -> String {
        var bytes = try readBytes(path, what: what, limit: maxSize, warnIfShared: warnIfShared)
        defer { wipe(&bytes) }
        guard bytes.count <= maxSize else { throw ArchiveError(.usage, "\(path) is not a kseal \(what) (over \(maxSize) bytes)") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The first `limit + 1` bytes of a key file (one more than it may hold, so a caller can tell
    /// a file that is too long), read from a buffer that is wiped after.
    /// - Parameter warnIfShared: for a secret, told when group or others can read the file.
    /// - Throws: ``ArchiveError`` `.usage` when the file is missing or unreadable.
    static func readBytes(_ path: String, what: String, limit: Int, warnIfShared: ((String) -> Void)?) throws -> [UInt8] {
        let file: SystemFile
        do { file = try SystemFile.open(path, flags: O_RDONLY | O_CLOEXEC) } catch let error as ArchiveError {
            throw ArchiveError(.usage, "cannot read \(what): \(error.message)", cause: error)
        }
        let mode = try file.status().mode
        if let warnIfShared, mode & 0o077 != 0 {
            warnIfShared("\(what) \(path) is accessible by group or others (mode \(String(mode & 0o777, radix: 8))); chmod 600 it")
        }
        var buffer = [UInt8](repeating: 0, count: limit + 1)
        defer { wipe(&buffer) }
        let count = try buffer.withUnsafeMutableBytes { try file.readFully(into: $0) }
        return Array(buffer.prefix(count))
    }

    /// Writes a new file with `mode`, refusing to replace one.
    static func create(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
        let file: SystemFile
        do {
            file = try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode: mode)
        } catch let error as ArchiveError where (error.cause as? SystemError)?.errno == EEXIST {
            throw ArchiveError(.usage, "\(path) exists; kseal keygen never overwrites a key", cause: error)
        }
        try bytes.withUnsafeBytes { try file.writeAll($0) }
        try file.fchmod(mode)
        try file.sync()
    }

    /// The `*.pub` files of `directory`, sorted; none when it does not exist.
    static func publicKeyFiles(in directory: String) throws -> [String] {
        let names: [[UInt8]]
        do { names = try directoryEntries(Array(directory.utf8)) } catch let error as ArchiveError where (error.cause as? SystemError)?.errno == ENOENT {
            return []
        }
        return names.map { String(decoding: $0, as: UTF8.self) }.filter { $0.hasSuffix(".pub") }.map { directory + "/" + $0 }
    }
}

/// RFC 4648 base64 with padding, for key files.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        for i in stride(from: 0, to: bytes.count, by: 3) {
            let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(alphabet[b0 >> 2])
            out.append(alphabet[(b0 & 3) << 4 | b1 >> 4])
            out.append(i + 1 < bytes.count ? alphabet[(b1 & 15) << 2 | b2 >> 6] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[b2 & 63] : UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil unless `text` is canonical padded base64.
    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var values: [Int] = []
        for c in chars where c != UInt8(ascii: "=") {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            values.append(v)
        }
        let padding = chars.count - values.count
        guard padding <= 2, chars.suffix(padding).allSatisfy({ $0 == UInt8(ascii: "=") }) else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: values.count, by: 4) {
            let group = values[i..<min(i + 4, values.count)].map { $0 } + [0, 0, 0]
            let n = group[0] << 18 | group[1] << 12 | group[2] << 6 | group[3]
            out.append(UInt8(n >> 16 & 0xFF))
            if i + 2 < values.count { out.append(UInt8(n >> 8 & 0xFF)) }
            if i + 3 < values.count { out.append(UInt8(n & 0xFF)) }
        }
        return encode(out) == text ? out : nil
    }
}
