import KsealArchive

/// `verify`: authenticate, decompress and hash-check every chunk; name each damaged file.
public enum VerifyCommand {
    public static func run(_ input: ReaderInput, json: Bool, progress: ProgressMode) throws {
        let reader = try input.open()
        let meter = progress.meter(command: "verify", quiet: input.crypto.quiet)
        let report = try Verifier.verify(reader, progress: meter)
        meter?.finish()
        if json {
            Console.print(JSON.encode(.object([
                ("ok", .bool(report.isIntact)), ("status", .int(Int64(report.isIntact ? 0 : ExitStatus.damaged.rawValue))),
                ("backend", .string(reader.backend.kind.rawValue)), ("signature", JSON.signature(reader)),
                ("files", .int(Int64(report.files))), ("bytes", .int(reader.index.uniqueBytes)), ("frames", .int(Int64(report.frames))),
                ("frames_failed", .int(Int64(report.framesFailed))), ("damaged", JSON.damage(report.damagedFiles)),
                ("archive_problems", .array(report.archiveProblems.map { .string($0) })),
            ])))
        } else {
            for damage in report.damagedFiles {
                Console.write(Array("damaged: ".utf8) + damage.path + Array(": \(damage.reason)\n".utf8))
            }
            for problem in report.archiveProblems { Console.print("damaged: archive: \(problem)") }
            Console.print(report.isIntact
                ? "ok: \(report.files) files, \(report.frames) chunks verified"
                : "FAILED: \(report.damagedFiles.count) damaged files, \(report.framesFailed) of \(report.frames) chunks failed")
        }
        if !report.isIntact { throw CommandExit(.damaged) }
    }
}
