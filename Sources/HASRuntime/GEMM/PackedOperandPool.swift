import Foundation

/// Reusable buffers for a B operand packed once and shared by the GEMM's workers.
///
/// A fresh multi-MB allocation per GEMM call would be mapped and zero-filled
/// page by page on every call (h0's packed batch is 6.4 MB), so buffers are
/// kept and handed out again. Concurrent GEMMs each get their own buffer.
final class PackedOperandPool: @unchecked Sendable {
    static let shared = PackedOperandPool()

    private var free: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []
    private let lock = NSLock()

    /// Calls `body` with a buffer of at least `count` floats, returned to the pool afterwards.
    func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        lock.lock()
        var buffer: (pointer: UnsafeMutablePointer<Float>, capacity: Int)
        if let index = free.firstIndex(where: { $0.capacity >= count }) {
            buffer = free.remove(at: index)
        } else {
            if !free.isEmpty { free.removeLast().pointer.deallocate() }  // too small: replace
            buffer = (UnsafeMutablePointer<Float>.allocate(capacity: count), count)
        }
        lock.unlock()
        defer {
            lock.lock()
            free.append(buffer)
            lock.unlock()
        }
        return body(buffer.pointer)
    }
}
