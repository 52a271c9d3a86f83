import Foundation

/// An advisory lock (flock) on a lock file or a directory: how concurrent runs
/// that share a store (two has-plan runs on one Plans/ directory) take turns.
/// Held until `unlock` or deinit; the kernel drops it if the process dies, so
/// a killed run never leaves a store locked.
public final class FileLock {
    public let path: String
    private var fd: Int32

    /// Waits for the lock (`wait`), or fails at once if another process holds it.
    /// - Throws: `InputError(file: path)` when the lock file cannot be opened, or is held and `wait` is false.
    public init(path: String, wait: Bool = true, holder: String = "another run") throws {
        self.path = path
        var isDirectory: ObjCBool = false
        let directory = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        fd = directory ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw InputError(file: path, "cannot open the lock file: \(systemError())") }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            let reason = errno == EWOULDBLOCK ? "\(holder) holds it" : systemError()
            close(fd)
            throw InputError(file: path, "locked: \(reason)")
        }
    }

    public func unlock() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }

    deinit { unlock() }

    /// `body` with the lock held.
    public static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let lock = try FileLock(path: path)
        defer { lock.unlock() }
        return try body()
    }
}
