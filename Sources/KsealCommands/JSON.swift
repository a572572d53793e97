import KsealArchive

/// A minimal JSON writer for kseal's `--json` outputs (no Foundation round trip, stable key order).
public enum JSON {
    public indirect enum Value {
        case string(String)
        case int(Int64)
        case bool(Bool)
        case null
        case array([Value])
        case object([(String, Value)])
    }

    public static func encode(_ value: Value) -> String {
        switch value {
        case .string(let s): return quote(s)
        case .int(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(encode).joined(separator: ",") + "]"
        case .object(let fields): return "{" + fields.map { quote($0.0) + ":" + encode($0.1) }.joined(separator: ",") + "}"
        }
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A path as JSON fields: `path` (UTF-8, invalid bytes replaced) and, only when the bytes are
    /// not valid UTF-8, `path_hex` with the exact bytes.
    public static func pathFields(_ key: String, _ bytes: [UInt8]) -> [(String, Value)] {
        if let text = String(validating: bytes, as: UTF8.self) { return [(key, .string(text))] }
        return [(key, .string(String(decoding: bytes, as: UTF8.self))), (key + "_hex", .string(bytes.map { String(format2: $0) }.joined()))]
    }
}

extension String {
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

extension JSON {
    /// An archive's signature as `--json` outputs show it.
    public static func signature(_ reader: ArchiveReader) -> Value {
        switch reader.signature {
        case .unsigned: return .object([("signed", .bool(false))])
        case .signed(let key, let trusted):
            return .object([("signed", .bool(true)), ("algorithm", .string(key.algorithm.name)), ("key", .string(key.description)),
                            ("trusted", trusted.map(Value.bool) ?? .null), ("checked_by", .string(reader.signatureCheckedBy ?? ""))])
        }
    }

    public static func damage(_ list: [VerifyReport.Damage]) -> Value {
        .array(list.map { .object(pathFields("path", $0.path) + [("reason", .string($0.reason))]) })
    }
}
