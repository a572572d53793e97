#if UserspaceCrypto  // the fuzzer seals its inputs in user space, on any host
import KsealCrypto

/// What the fuzzer (Sources/kseal-fuzz) and its regression tests feed to kseal's parsers. Not
/// part of kseal's API.
///
/// The first input byte picks what the rest is:
/// - 0: a whole archive, read and verified with ``key`` (header, slots, MAC, index, frames, end);
/// - 1: an index image, sealed into an otherwise valid archive, then opened, validated and verified;
/// - 2: the stored bytes of one zstd frame claiming 4096 zero bytes, sealed and verified;
/// - 3: a format 2 index image (kinds 5-7, names, device numbers, zero runs, xattrs), sealed
///   into an otherwise valid format 2 archive, then opened, validated and verified.
/// Every input must end in a result or an ``ArchiveError``; anything else is a bug.
@_spi(Testing)
public enum FuzzHarness {
    public static let key = try! KeyFile(bytes: (0x40..<0x60).map { UInt8($0) })
    static let backend = UserspaceBackend()
    nonisolated(unsafe) static var scratch: String = ProcessEnvironment.temporaryDirectory + "/kseal-fuzz-input-\(getpid())"

    public static func run(_ input: [UInt8]) {
        guard let mode = input.first else { return }
        let body = Array(input.dropFirst())
        do {
            switch mode % 4 {
            case 0: try verify(archive: body)
            case 1: try verify(archive: HostileArchiveBuilder.archive(indexImage: body, frames: [], keyFile: key, backend: backend, version: .v1))
            case 3: try verify(archive: HostileArchiveBuilder.archive(indexImage: body, frames: [], keyFile: key, backend: backend, version: .v2))
            default:
                let zeros = [UInt8](repeating: 0, count: 4096)
                let frame = HostileArchiveBuilder.Frame(stored: body, compression: .zstd, plainLength: zeros.count,
                                                        sha256: try backend.makeSHA256().digest(zeros))
                let image = try HostileArchiveBuilder.indexImage(
                    sql: "INSERT INTO entries VALUES (1, CAST('f' AS BLOB), 1, 420, 0, 0, 0, 0, 4096, NULL); INSERT INTO file_chunks VALUES (1, 0, 0);",
                    frames: body.isEmpty ? [] : [frame], version: .v1)
                try verify(archive: HostileArchiveBuilder.archive(indexImage: image, frames: body.isEmpty ? [] : [frame], keyFile: key, backend: backend, version: .v1))
            }
        } catch is ArchiveError {
            // Refused with a clear error: the expected outcome for most inputs.
        } catch {
            fatalError("unexpected error type \(type(of: error)): \(error)")
        }
    }

    private static func verify(archive: [UInt8]) throws {
        // Removed after each input, so no run leaves its scratch file in $TMPDIR (best effort:
        // the next input writes it again anyway).
        defer { _ = system_unlink(scratch) }
        let file = try SystemFile.open(scratch, flags: O_WRONLY_CREAT_TRUNC, mode: 0o600)
        try file.writeAll(archive)
        _ = try Verifier.verify(ArchiveReader(.file(scratch), keyFile: key, backend: backend))
    }

    /// Seeds for the corpus: one valid input per mode, built from a small archive.
    public static func seeds(vectorArchive: [UInt8]) throws -> [[UInt8]] {
        let frame = try HostileArchiveBuilder.Frame.zstd([UInt8](repeating: 0, count: 4096), claiming: 4096, sha256: [])
        let image = try HostileArchiveBuilder.indexImage(
            sql: "INSERT INTO entries VALUES (1, CAST('d' AS BLOB), 2, 493, 0, 0, 0, 0, 0, NULL);"
                + "INSERT INTO entries VALUES (2, CAST('d/l' AS BLOB), 3, 511, 0, 0, 0, 0, 0, CAST('x' AS BLOB));", frames: [], version: .v1)
        let v2 = try HostileArchiveBuilder.indexImage(
            sql: "INSERT INTO entries VALUES (1, CAST('d' AS BLOB), 2, 493, 0, 0, CAST('root' AS BLOB), CAST('root' AS BLOB), 0, 0, 0, NULL, NULL, NULL);"
                + "INSERT INTO entries VALUES (2, CAST('d/c' AS BLOB), 5, 384, 0, 0, NULL, NULL, 0, 0, 0, NULL, 5, 1);"
                + "INSERT INTO entries VALUES (3, CAST('d/p' AS BLOB), 7, 420, 0, 0, NULL, NULL, 0, 0, 0, NULL, NULL, NULL);"
                + "INSERT INTO entries VALUES (4, CAST('d/s' AS BLOB), 1, 420, 0, 0, NULL, NULL, 0, 0, 8192, NULL, NULL, NULL);"
                + "INSERT INTO file_chunks VALUES (4, 0, NULL, 8192);"
                + "INSERT INTO xattrs VALUES (1, CAST('system.posix_acl_default' AS BLOB), X'02000000'), (4, CAST('security.capability' AS BLOB), X'01');",
            frames: [], version: .v2)
        return [[0] + vectorArchive, [1] + image, [2] + frame.stored, [3] + v2]
    }
}

#if canImport(Glibc)
import Glibc
private let O_WRONLY_CREAT_TRUNC = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
#endif
#endif
