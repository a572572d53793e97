import KsealArchive

/// How list shows an entry: escaped names, `ls -l`-style prefixes, JSON objects.
public enum EntryFormat {
    /// Bytes as a terminal may show them: printable ASCII and valid UTF-8 as they are, a
    /// backslash doubled, every other byte (control characters, DEL, invalid UTF-8) as `\ooo`.
    public static func escaped(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            let width = byte < 0x80 ? 1 : byte >> 5 == 0b110 ? 2 : byte >> 4 == 0b1110 ? 3 : byte >> 3 == 0b11110 ? 4 : 0
            if width > 1, i + width <= bytes.count, String(validating: bytes[i..<(i + width)], as: UTF8.self) != nil {
                out += bytes[i..<(i + width)]
                i += width
                continue
            }
            if byte == UInt8(ascii: "\\") {
                out += [byte, byte]
            } else if byte >= 0x20 && byte < 0x7F {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "\\"), 0x30 + (byte >> 6), 0x30 + (byte >> 3 & 7), 0x30 + (byte & 7)]
            }
            i += 1
        }
        return out
    }

    public static func typeName(_ kind: EntryKind) -> String {
        switch kind {
        case .file: "file"
        case .directory: "directory"
        case .symlink: "symlink"
        case .hardLink: "hardlink"
        case .characterDevice: "chardev"
        case .blockDevice: "blockdev"
        case .fifo: "fifo"
        }
    }

    /// `drwxr-xr-x 0/0 4096 2026-11-28 14:22:05 ` as `ls -l` and `tar -tv` show it.
    public static func longPrefix(_ entry: Entry) -> String {
        let type: Character = switch entry.kind {
        case .file: "-"
        case .directory: "d"
        case .symlink: "l"
        case .hardLink: "h"
        case .characterDevice: "c"
        case .blockDevice: "b"
        case .fifo: "p"
        }
        // Names where a format 2 archive records them (as tar -tv), else numbers; a device shows
        // its numbers where a file shows its size.
        let owner = entry.userName.map { String(decoding: $0, as: UTF8.self) } ?? String(entry.uid)
        let group = entry.groupName.map { String(decoding: $0, as: UTF8.self) } ?? String(entry.gid)
        let size = entry.device.map { "\($0.major),\($0.minor)" } ?? String(entry.size)
        return "\(type)\(permissionString(entry.mode)) \(owner)/\(group) \(size.leftPadded(12)) \(Text.utcTimestamp(entry.mtimeSeconds)) "
    }

    /// `rwsr-xr-x` for mode 04755, as `ls -l` shows it: setuid and setgid as `s` in the owner's or
    /// group's execute place (`S` without execute), sticky as `t` in the others' (`T`).
    public static func permissionString(_ mode: UInt32) -> String {
        var characters = Array("rwxrwxrwx").enumerated().map { mode & (0o400 >> UInt32($0.offset)) != 0 ? $0.element : "-" }
        for (bit, place, letter) in [(UInt32(0o4000), 2, "s"), (0o2000, 5, "s"), (0o1000, 8, "t")] where mode & bit != 0 {
            characters[place] = Character(characters[place] == "-" ? letter.uppercased() : letter)
        }
        return String(characters)
    }

    public static func json(_ entry: Entry) -> JSON.Value {
        var fields = JSON.pathFields("path", entry.path)
        fields += [("type", .string(typeName(entry.kind))), ("mode", .int(Int64(entry.mode))), ("uid", .int(Int64(entry.uid))),
                   ("gid", .int(Int64(entry.gid))), ("size", .int(entry.size)), ("mtime", .int(entry.mtimeSeconds)),
                   ("mtime_nsec", .int(entry.mtimeNanoseconds))]
        if let target = entry.target { fields += JSON.pathFields("target", target) }
        // Format 2 fields, present only when recorded.
        if let name = entry.userName { fields += JSON.pathFields("user", name) }
        if let name = entry.groupName { fields += JSON.pathFields("group", name) }
        if let device = entry.device { fields += [("device_major", .int(Int64(device.major))), ("device_minor", .int(Int64(device.minor)))] }
        if !entry.extendedAttributes.isEmpty {
            fields.append(("xattrs", .array(entry.extendedAttributes.map { .object(JSON.pathFields("name", $0.name) + [("size", .int(Int64($0.value.count)))]) })))
        }
        if let extents = entry.extents {
            let zeros = extents.reduce(Int64(0)) { if case .zeros(let n) = $1 { $0 + n } else { $0 } }
            fields.append(("zero_bytes", .int(zeros)))
        }
        return .object(fields)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
