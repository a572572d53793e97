/// The index schemas: the text of Formats/kseal-index-v1.sql and -v2.sql, compiled in (see
/// Package.swift).
enum IndexSchema {
    static let v1 = String(decoding: PackageResources.kseal_index_v1_sql, as: UTF8.self)
    static let v2 = String(decoding: PackageResources.kseal_index_v2_sql, as: UTF8.self)

    static func sql(for version: FormatVersion) -> String {
        switch version {
        case .v1: v1
        case .v2: v2
        }
    }
}

/// The schema text of `version` (what the writer executes, and what §9 compares byte for byte).
public func indexSchemaSQL(_ version: FormatVersion) -> String { IndexSchema.sql(for: version) }
