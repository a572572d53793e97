import ArgumentParser
import KsealArchive

struct Verify: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        abstract: "Authenticate, decompress and hash-check every chunk; name each damaged file.",
        discussion: "Reads only the archive. Exit status 0 when everything verifies, 1 when anything is damaged."
    )

    @OptionGroup var input: ArchiveInput

    @Flag(name: .long, help: "Print the result as one JSON object.")
    var json = false

    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        let reader = try input.open()
        let meter = progressOptions.meter(command: "verify", quiet: input.crypto.quiet)
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
        if !report.isIntact { throw ExitCode(ExitStatus.damaged.rawValue) }
    }
}
