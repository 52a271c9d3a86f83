import Foundation

/// Collects values from concurrent hooks.
public final class Collector<T>: @unchecked Sendable {
    private var items: [T] = []
    private let lock = NSLock()
    public init() {}
    public func append(_ item: T) { lock.lock(); defer { lock.unlock() }; items.append(item) }
    public func append(contentsOf more: [T]) { lock.lock(); defer { lock.unlock() }; items += more }
    public var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
}
