#if canImport(Glibc)
import Glibc
#endif

/// Exclusion patterns for create, matched as GNU tar matches `--exclude`: a shell glob
/// (`*`, `?`, `[...]`, where `*` also matches `/`) tested against the stored path and against
/// every tail of it that starts after a `/`. So a bare name (`build`, `*.o`) matches at any
/// depth, and `src/*.o` matches `src/a.o` and `lib/src/a.o`. A leading `/` or `./` and a trailing
/// `/` in a pattern are dropped, as they are from stored names. An excluded directory is not
/// descended into.
public struct PathPatterns: Sendable {
    private let patterns: [[CChar]]

    /// - Parameter patterns: raw pattern bytes; empty ones are ignored.
    /// - Throws: ``ArchiveError`` `.usage` for a pattern holding a NUL byte.
    public init(_ patterns: [[UInt8]]) throws {
        self.patterns = try patterns.compactMap { raw in
            guard !raw.contains(0) else { throw ArchiveError(.usage, "an exclude pattern cannot hold a NUL byte") }
            var pattern = raw[...]
            while pattern.first == UInt8(ascii: "/") || pattern.starts(with: "./".utf8) {
                pattern = pattern.dropFirst(pattern.first == UInt8(ascii: "/") ? 1 : 2)
            }
            while pattern.count > 1, pattern.last == UInt8(ascii: "/") { pattern = pattern.dropLast() }
            return pattern.isEmpty ? nil : pattern.map { CChar(bitPattern: $0) } + [0]
        }
    }

    /// Whether `stored` (a stored name, relative and without `.` components) is excluded.
    public func matches(_ stored: [UInt8]) -> Bool {
        guard !patterns.isEmpty, !stored.isEmpty else { return false }
        let name = stored.map { CChar(bitPattern: $0) } + [0]
        return name.withUnsafeBufferPointer { buffer in
            var start = 0
            while true {
                let tail = buffer.baseAddress! + start
                if patterns.contains(where: { fnmatch($0, tail, 0) == 0 }) { return true }
                guard let slash = buffer[start...].firstIndex(of: CChar(bitPattern: UInt8(ascii: "/"))) else { return false }
                start = slash + 1
            }
        }
    }
}

/// Lists of names read from a file or standard input, as `-T/--files-from` and `--exclude-from`
/// take them: one name per line, or per NUL-terminated record with `--null`; empty names are
/// skipped. Read whole and split in one pass, so a list of any length costs linear time.
public enum PathList {
    /// - Parameters:
    ///   - path: the list file, or `-` for standard input.
    ///   - separator: `\n` or `0`.
    /// - Throws: ``ArchiveError`` `.io` when the list cannot be read.
    public static func read(_ path: String, separator: UInt8) throws -> [[UInt8]] {
        let file = path == "-" ? SystemFile.standardInput() : try SystemFile.open(path, flags: O_RDONLY | O_CLOEXEC)
        var bytes: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try block.withUnsafeMutableBytes { try file.readFully(into: $0) }
            bytes += block[0..<n]
            if n < block.count { break }
        }
        return bytes.split(separator: separator, omittingEmptySubsequences: true).map(Array.init)
    }
}
