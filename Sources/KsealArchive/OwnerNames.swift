#if canImport(Glibc)
import Glibc
#endif

/// User and group names of this machine by id, looked up once each (format v2 records them
/// beside the numbers). Used on create's walking thread only.
struct OwnerNames {
    private var users: [UInt32: [UInt8]?] = [:]
    private var groups: [UInt32: [UInt8]?] = [:]

    mutating func user(_ uid: UInt32) -> [UInt8]? {
        if let known = users[uid] { return known }
        let name = Self.valid(getpwuid(uid).map { Array(String(cString: $0.pointee.pw_name).utf8) })
        users[uid] = name
        return name
    }

    mutating func group(_ gid: UInt32) -> [UInt8]? {
        if let known = groups[gid] { return known }
        let name = Self.valid(getgrgid(gid).map { Array(String(cString: $0.pointee.gr_name).utf8) })
        groups[gid] = name
        return name
    }

    /// A name the index may hold (1 to 255 bytes, no NUL, '/' or newline); others are not recorded.
    private static func valid(_ name: [UInt8]?) -> [UInt8]? {
        guard let name, !name.isEmpty, name.count <= 255, !name.contains(where: { [0, 10, 47].contains($0) }) else { return nil }
        return name
    }
}
