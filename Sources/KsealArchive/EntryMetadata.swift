#if canImport(Glibc)
import Glibc
#endif

/// How an extracted node gets its owner, extended attributes, mode and time, as the extraction's
/// options ask: a value, which counts what could not be restored in the losses it is given.
struct EntryMetadata: Sendable {
    private let restoreXattrs, restoreACLs, restoreSELinux: Bool

    init(_ options: ExtractOptions) {
        restoreXattrs = options.restoreXattrs
        restoreACLs = options.restoreACLs
        restoreSELinux = options.restoreSELinux
    }

    /// Owner (`owner`, given exactly when ownership is restored; set-id bits are restored only
    /// with it), extended attributes, mode, time, in that order: a chown clears
    /// `security.capability` and the set-id bits, and a read-only mode would stop a non-root
    /// user setting `user.*` attributes.
    func apply(_ entry: Entry, owner: (uid: UInt32, gid: UInt32)?, to file: SystemFile, losses: inout [String: Int]) throws {
        var mode = entry.mode
        if let owner {
            try file.fchown(uid: owner.uid, gid: owner.gid)
        } else {
            mode &= 0o1777
        }
        applyAttributes(entry, to: file, losses: &losses)
        try file.fchmod(mode)
        try file.setModificationTime(seconds: entry.mtimeSeconds, nanoseconds: entry.mtimeNanoseconds)
    }

    /// Extended attributes (format v2), after owner and mode (a later chown would clear
    /// `security.capability`), that one last. What may not be set here (another user's
    /// namespace, a file system without xattrs) is counted by namespace, not fatal.
    private func applyAttributes(_ entry: Entry, to file: SystemFile, losses: inout [String: Int]) {
        guard !entry.extendedAttributes.isEmpty else { return }
        let capability = Array("security.capability".utf8)
        let wanted = entry.extendedAttributes.filter(isWanted)
        let ordered = wanted.filter { $0.name != capability } + wanted.filter { $0.name == capability }
        for attribute in ordered {
            if case .failure = file.setAttribute(attribute.name, attribute.value) {
                losses[Self.lossKind(of: attribute.name), default: 0] += 1
            }
        }
    }

    /// Whether the options ask for this attribute: ACLs, the SELinux label and all others each
    /// have their switch.
    func isWanted(_ attribute: ExtendedAttribute) -> Bool {
        if attribute.name.starts(with: "system.posix_acl".utf8) { return restoreACLs }
        if attribute.name.elementsEqual("security.selinux".utf8) { return restoreSELinux }
        return restoreXattrs
    }

    /// How a lost attribute is reported: by namespace, ACLs by name.
    static func lossKind(of name: [UInt8]) -> String {
        if name.starts(with: "system.posix_acl".utf8) { return "ACLs" }
        let namespace = name.split(separator: UInt8(ascii: "."), maxSplits: 1).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return "\(namespace).* extended attributes"
    }
}
