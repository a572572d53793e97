#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import KsealArchive
import KsealCommands

/// The values of create's `--owner`, `--group` and `--mtime`, as GNU tar takes them.
enum Overrides {
    /// A user as a name from this machine's user database, a number, or `NAME:NUMBER` (the
    /// number wins, as in tar, so a build host need not know the target's users). A name given
    /// is what format 2 records; for a number alone, the name this machine has for it.
    static func owner(_ text: String) throws -> OwnerOverride {
        try id(text, what: "--owner") { name in
            name.withCString { getpwnam($0) }.map { $0.pointee.pw_uid }
        }
    }

    static func group(_ text: String) throws -> OwnerOverride {
        try id(text, what: "--group") { name in
            name.withCString { getgrnam($0) }.map { $0.pointee.gr_gid }
        }
    }

    private static func id(_ text: String, what: String, lookUp: (String) -> UInt32?) throws -> OwnerOverride {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let name = parts.count == 2 ? parts[0] : (UInt32(text) == nil ? text : nil)
        if let name {
            guard (1...255).contains(name.utf8.count), !name.contains("/"), !name.contains("\n") else {
                throw ValidationError("\(what) \(text): a name is 1 to 255 bytes without '/' or newline")
            }
        }
        if let number = UInt32(parts.last!), number != UInt32.max { return OwnerOverride(id: number, name: name.map { Array($0.utf8) }) }
        guard parts.count == 1, let name, let id = lookUp(name) else {
            throw ValidationError("\(what) \(text): no such name on this machine (give a number, or NAME:NUMBER)")
        }
        return OwnerOverride(id: id, name: Array(name.utf8))
    }

    /// `@SECONDS[.FRACTION]` since the epoch (SOURCE_DATE_EPOCH style), or a UTC date
    /// `YYYY-MM-DD[THH:MM[:SS]][Z]`.
    static func mtime(_ text: String) throws -> (seconds: Int64, nanoseconds: Int64) {
        let invalid = ValidationError("--mtime \(text): give @SECONDS or a UTC date YYYY-MM-DD[THH:MM[:SS]][Z]")
        if text.hasPrefix("@") {
            let parts = text.dropFirst().split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard let seconds = Int64(parts[0]) else { throw invalid }
            guard parts.count == 2 else { return (seconds, 0) }
            let digits = parts[1]
            guard (1...9).contains(digits.count), digits.allSatisfy(\.isNumber), let fraction = Int64(digits) else { throw invalid }
            let nanoseconds = fraction * Int64(pow10(9 - digits.count))
            // Nanoseconds count forward from the second (spec: mtime_nsec), so -1.25 is -2 + 0.75.
            guard parts[0].hasPrefix("-"), nanoseconds > 0 else { return (seconds, nanoseconds) }
            return (seconds - 1, 1_000_000_000 - nanoseconds)
        }
        var date = text.hasSuffix("Z") ? String(text.dropLast()) : text
        if date.count == 10 { date += "T00:00:00" }
        if date.count == 16 { date += ":00" }
        let fields = date.split(whereSeparator: { "-T:".contains($0) }).map { Int32($0) }
        guard date.count == 19, fields.count == 6, fields.allSatisfy({ $0 != nil }) else { throw invalid }
        var broken = tm()
        broken.tm_year = fields[0]! - 1900
        broken.tm_mon = fields[1]! - 1
        broken.tm_mday = fields[2]!
        broken.tm_hour = fields[3]!
        broken.tm_min = fields[4]!
        broken.tm_sec = fields[5]!
        let seconds = timegm(&broken)
        // timegm normalises out-of-range fields (February 30th); refuse instead of guessing.
        guard broken.tm_mon == fields[1]! - 1, broken.tm_mday == fields[2]!, broken.tm_hour == fields[3]! else { throw invalid }
        return (Int64(seconds), 0)
    }

    private static func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }
}
