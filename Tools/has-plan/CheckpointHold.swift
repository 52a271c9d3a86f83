import Foundation

/// A hook for the interrupt tests: with `HAS_HOLD_AFTER_CHECKPOINT=N` in the
/// environment, has-plan stops working after writing its N-th checkpoint and
/// waits for a signal. A test can then interrupt it at a known point (Ctrl-C
/// kills it there) instead of racing it to the end of the run. Unset, it
/// does nothing.
enum CheckpointHold {
    static let variable = "HAS_HOLD_AFTER_CHECKPOINT"
    private static let after = ProcessInfo.processInfo.environment[variable].flatMap { Int($0) }
    private static let written = Counter()

    static func checkpointWritten() {
        guard let after, written.increment() >= after else { return }
        while true { pause() }
    }

    /// Checkpoints may be written from worker threads.
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
}
