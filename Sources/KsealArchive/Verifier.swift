/// The outcome of ``Verifier/verify(_:)``.
public struct VerifyReport: Sendable {
    public struct Damage: Sendable {
        public let path: [UInt8]
        public let reason: String
    }
    public var frames = 0
    public var framesFailed = 0
    public var files = 0
    /// Damaged files, in archive order, each with the first problem found.
    public var damagedFiles: [Damage] = []
    /// Problems with the archive as a whole (truncation, end marker, trailing bytes).
    public var archiveProblems: [String] = []
    public var isIntact: Bool { framesFailed == 0 && damagedFiles.isEmpty && archiveProblems.isEmpty }
}

/// Opens and hash-checks every frame; reads nothing but the archive.
public enum Verifier {
    /// - Throws: only for errors that stop reading altogether (I/O, crypto backend failure).
    /// - Parameter progress: told the bytes of every chunk checked, against the total.
    public static func verify(_ reader: ArchiveReader, progress: ProgressMeter? = nil) throws -> VerifyReport {
        try verify(reader, progress: progress, inOrder: false)
    }

    /// - Parameter inOrder: check frames in order (``FrameReader``) even from a regular file, as
    ///   from a pipe: tests hold the two ways to the same reports.
    static func verify(_ reader: ArchiveReader, progress: ProgressMeter?, inOrder: Bool) throws -> VerifyReport {
        var report = VerifyReport()
        progress?.total = reader.index.uniqueBytes
        let checked = try checkFrames(reader, progress: progress, inOrder: inOrder)
        var failures: [Int: String] = [:]
        for (ordinal, error) in checked.failures {
            failures[ordinal] = ordinal >= (checked.firstMissing ?? Int.max) ? "missing: archive truncated" : error.message
        }
        report.frames = reader.index.chunkCount
        report.framesFailed = failures.count
        if let truncation = checked.truncation {
            report.archiveProblems.append(truncation.message)
        } else {
            do { try FrameReader.readEnd(of: reader) } catch let error as ArchiveError where error.code == .damaged {
                report.archiveProblems.append(error.message)
            }
        }
        report.files = reader.index.summary.files + reader.index.summary.hardLinks
        // Which files are damaged needs the entries only when a frame failed. Only damaged files
        // are remembered (for hard links to them): memory follows the damage.
        guard !failures.isEmpty else { return report }
        var damaged: [[UInt8]: String] = [:]
        let entries = try reader.index.entries()
        while let entry = try entries.next() {
            switch entry.kind {
            case .file:
                if let reason = entry.chunks.lazy.compactMap({ failures[$0] }).first { damaged[entry.path] = reason }
            case .hardLink:
                if let target = entry.target, let reason = damaged[target] { damaged[entry.path] = "hard link to a damaged file: \(reason)" }
            case .directory, .symlink, .characterDevice, .blockDevice, .fifo:
                continue
            }
            if let reason = damaged[entry.path] { report.damagedFiles.append(.init(path: entry.path, reason: reason)) }
        }
        return report
    }

    /// Every frame opened and hash-checked: from a regular file by ``FrameChecker``, on all
    /// cores in any order; from a pipe in order, by ``FrameReader``.
    private static func checkFrames(_ reader: ArchiveReader, progress: ProgressMeter?, inOrder: Bool) throws -> FrameChecker.Outcome {
        if !inOrder, let outcome = try FrameChecker.check(reader, progress: progress) { return outcome }
        let frames = try reader.frames(keepingPlaintext: false)
        frames.progress = progress
        var outcome = FrameChecker.Outcome()
        for ordinal in 0..<reader.index.chunkCount {
            do {
                try frames.next()
            } catch let error as ArchiveError where error.code == .damaged {
                outcome.failures[ordinal] = error
            }
        }
        outcome.truncation = frames.truncation
        outcome.firstMissing = frames.firstMissing
        return outcome
    }
}
