/// Calls `body` with `bytes` as a NUL-terminated C string.
func withCPath<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    try (bytes + [0]).withUnsafeBufferPointer { buffer in
        try buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { try body($0) }
    }
}

/// Path bytes for messages: UTF-8 where valid, with invalid bytes replaced.
func display(_ path: [UInt8]) -> String { String(decoding: path, as: UTF8.self) }

/// The directory part of a path (`.` for a bare name).
func directoryName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
