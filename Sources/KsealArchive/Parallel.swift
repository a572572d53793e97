import Dispatch
import Synchronization

/// Runs `body(worker, item)` for every item in `0..<count` on up to `workers` threads, the
/// caller's among them, and returns when all are done.
///
/// Items are claimed one at a time from a shared counter rather than dealt out in advance, so a
/// batch of uneven items (a 128 KiB chunk beside a 200-byte one) keeps every thread busy. Calls
/// for one `worker` number never overlap, so per-worker contexts (an AF_ALG operation socket, a
/// zstd context) need no lock.
func runInParallel(items count: Int, workers: Int, _ body: @escaping (_ worker: Int, _ item: Int) -> Void) {
    let threads = min(workers, count)
    guard threads > 1 else {
        for item in 0..<count { body(0, item) }
        return
    }
    let work = ParallelWork(body: body, count: count)
    DispatchQueue.concurrentPerform(iterations: threads) { work.run(worker: $0) }
}

/// The state shared by the threads of one ``runInParallel(items:workers:_:)``. Safe because
/// items are handed out once each by the atomic counter and the caller waits for every thread.
private final class ParallelWork: @unchecked Sendable {
    let body: (Int, Int) -> Void
    let count: Int
    let claimed = Atomic<Int>(0)

    init(body: @escaping (Int, Int) -> Void, count: Int) {
        self.body = body
        self.count = count
    }

    func run(worker: Int) {
        while true {
            let item = claimed.wrappingAdd(1, ordering: .relaxed).oldValue
            guard item < count else { return }
            body(worker, item)
        }
    }
}

/// One job at a time on a background thread: the caller prepares the next batch while the
/// previous one is processed, and memory stays bounded to two batches.
final class BackgroundStage: @unchecked Sendable {
    private let queue: DispatchQueue
    private let idle = DispatchSemaphore(value: 1)

    init(label: String) { queue = DispatchQueue(label: label) }

    /// Starts `job` once the previous job has finished.
    func start(_ job: @escaping @Sendable () -> Void) {
        idle.wait()
        queue.async {
            job()
            self.idle.signal()
        }
    }

    /// Waits until no job is running.
    func wait() {
        idle.wait()
        idle.signal()
    }
}
