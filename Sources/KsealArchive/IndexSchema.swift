/// The index schema: the text of Formats/kseal-index-v1.sql, compiled in (see Package.swift).
enum IndexSchema {
    static let sql = String(decoding: PackageResources.kseal_index_v1_sql, as: UTF8.self)
}

/// The schema text the writer executes.
public var indexSchemaSQL: String { IndexSchema.sql }
