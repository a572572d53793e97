import Dispatch

/// Where a long operation stands, for a progress display.
public struct ProgressSnapshot: Sendable {
    /// Bytes of content processed so far.
    public let done: Int64
    /// The total when known (verify, extract), nil for create.
    public let total: Int64?
    public let elapsedSeconds: Double
    /// Bytes per second so far.
    public var rate: Double { elapsedSeconds > 0 ? Double(done) / elapsedSeconds : 0 }
    /// Seconds left at the current rate, when the total is known.
    public var etaSeconds: Double? {
        guard let total, rate > 0 else { return nil }
        return Double(max(total - done, 0)) / rate
    }
    /// True for the last report.
    public let finished: Bool
}

/// Counts bytes as an operation advances and reports at most every `interval` seconds (and once
/// at the end). Only the thread that drives the operation calls it (workers never do), hence the
/// unchecked Sendable that lets it ride in the options structs.
public final class ProgressMeter: @unchecked Sendable {
    private let report: (ProgressSnapshot) -> Void
    private let interval: UInt64
    private let started = DispatchTime.now().uptimeNanoseconds
    private var lastReport: UInt64 = 0
    private var done: Int64 = 0
    public var total: Int64?

    /// - Parameters:
    ///   - interval: the least time between two reports.
    ///   - report: receives each snapshot.
    public init(interval: Double = 0.25, report: @escaping (ProgressSnapshot) -> Void) {
        self.interval = UInt64(interval * 1e9)
        self.report = report
    }

    func advance(by bytes: Int) {
        done += Int64(bytes)
        let now = DispatchTime.now().uptimeNanoseconds
        if now - lastReport >= interval {
            lastReport = now
            report(snapshot(now: now, finished: false))
        }
    }

    /// Reports the final state.
    public func finish() {
        report(snapshot(now: DispatchTime.now().uptimeNanoseconds, finished: true))
    }

    private func snapshot(now: UInt64, finished: Bool) -> ProgressSnapshot {
        ProgressSnapshot(done: done, total: total, elapsedSeconds: Double(now - started) / 1e9, finished: finished)
    }
}
