#if canImport(Glibc)
import Glibc
#endif

/// The target's ids for the user and group names an archive records (format v2), as tar maps
/// owners: by name where this machine knows the name, else by the recorded number. Looked up
/// once per name; used on the extracting thread only.
struct OwnerIDs {
    private var users: [[UInt8]: uid_t?] = [:]
    private var groups: [[UInt8]: gid_t?] = [:]

    mutating func resolve(_ entry: Entry, numeric: Bool) -> (uid: UInt32, gid: UInt32) {
        guard !numeric else { return (entry.uid, entry.gid) }
        let uid = entry.userName.flatMap { user($0) } ?? entry.uid
        let gid = entry.groupName.flatMap { group($0) } ?? entry.gid
        return (uid, gid)
    }

    private mutating func user(_ name: [UInt8]) -> uid_t? {
        if let known = users[name] { return known }
        let id = withCPath(name) { getpwnam($0)?.pointee.pw_uid }
        users[name] = id
        return id
    }

    private mutating func group(_ name: [UInt8]) -> gid_t? {
        if let known = groups[name] { return known }
        let id = withCPath(name) { getgrnam($0)?.pointee.gr_gid }
        groups[name] = id
        return id
    }
}
