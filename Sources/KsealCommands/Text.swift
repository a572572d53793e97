#if canImport(Glibc)
import Glibc
#endif
import KsealArchive

/// printf-style numbers and UTC times without Foundation, which the device binary does not link
/// (FoundationEssentials alone is 7.5 MB of a static binary).
public enum Text {
    /// `format` applied to `arguments` by the C library (`vsnprintf`), e.g. `Text.printf("%.1f", x)`.
    public static func printf(_ format: String, _ arguments: any CVarArg...) -> String {
        withVaList(arguments) { list in
            var buffer = [CChar](repeating: 0, count: 256)
            _ = vsnprintf(&buffer, buffer.count, format, list)
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Key slot kinds as people name them: "key file ×2", "unknown kind 9".
    public static func slotKinds(_ kinds: [UInt16]) -> String {
        var counts: [(UInt16, Int)] = []
        for kind in kinds {
            if let i = counts.firstIndex(where: { $0.0 == kind }) { counts[i].1 += 1 } else { counts.append((kind, 1)) }
        }
        return counts.map { kind, count in
            let name = KeySlotKind(rawValue: kind).map { $0 == .keyFile ? "key file" : "\($0)" } ?? "unknown kind \(kind)"
            return count == 1 ? name : "\(name) ×\(count)"
        }.joined(separator: ", ")
    }

    /// `2026-11-28 14:22:05Z` for seconds since the epoch: UTC, and marked so (RFC 3339).
    public static func utcTimestamp(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return String(seconds) }
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%SZ", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
