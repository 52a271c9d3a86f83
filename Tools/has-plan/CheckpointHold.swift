import Foundation

/// A hook for the interrupt and concurrency tests: with
/// `HAS_HOLD_AFTER_CHECKPOINT=N` in the environment, has-plan stops working
/// after writing its N-th checkpoint and waits for a signal. A test can then
/// interrupt it at a known point (Ctrl-C kills it there) instead of racing it
/// to the end of the run, or let it go on with SIGUSR1. Unset, it does nothing.
enum CheckpointHold {
    static let variable = "HAS_HOLD_AFTER_CHECKPOINT"
    private static let after = ProcessInfo.processInfo.environment[variable].flatMap { Int($0) }
    private static let written = Counter()

    /// Installs the SIGUSR1 handler that lets a held run go on (before any worker thread
    /// exists, so that the signal cannot reach a thread without it and kill the process).
    static func prepare() {
        guard after != nil else { return }
        signal(SIGUSR1) { _ in holdReleased = 1 }
    }

    static func checkpointWritten() {
        guard let after, written.increment() == after else { return }
        while holdReleased == 0 { usleep(1_000) }
    }

    /// Checkpoints may be written from worker threads.
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
}

/// Set by the SIGUSR1 handler; read by the held thread.
nonisolated(unsafe) private var holdReleased: sig_atomic_t = 0
