#if canImport(Glibc)
import Glibc
#endif
import KsealArchive

/// `--progress` for create, verify and extract.
public enum ProgressMode: String, CaseIterable, Sendable {
    case auto, json, none

    /// A meter that reports for `command`, or nil when nothing should be shown.
    public func meter(command: String, quiet: Bool) -> ProgressMeter? {
        switch self {
        case .none: return nil
        case .auto:
            guard !quiet, isatty(STDERR_FILENO) != 0 else { return nil }
            return ProgressMeter { snapshot in
                var line = "\r\(command): \(Self.size(snapshot.done))"
                if let total = snapshot.total { line += " of \(Self.size(total))" }
                line += ", \(Self.size(Int64(snapshot.rate)))/s"
                // No time left until the rate means something: after 2 s, or 5 % of the work.
                let settled = snapshot.elapsedSeconds >= 2 || snapshot.total.map { snapshot.done * 20 >= $0 } ?? false
                if let eta = snapshot.etaSeconds, settled, !snapshot.finished { line += ", \(Int(eta) / 60):" + Text.printf("%02d", Int(eta) % 60) + " left" }
                line += snapshot.finished ? "\u{1B}[K\n" : "\u{1B}[K"
                Console.writeError(line)
            }
        case .json:
            return ProgressMeter(interval: 1) { snapshot in
                let line = JSON.encode(.object([
                    ("command", .string(command)), ("bytes_done", .int(snapshot.done)),
                    ("bytes_total", snapshot.total.map { .int($0) } ?? .null),
                    ("bytes_per_second", .int(Int64(snapshot.rate))),
                    ("eta_seconds", snapshot.etaSeconds.map { .int(Int64($0.rounded())) } ?? .null),
                    ("finished", .bool(snapshot.finished)),
                ]))
                Console.writeError(line + "\n")
            }
        }
    }

    private static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : Text.printf("%.1f ", value) + units[unit]
    }
}
