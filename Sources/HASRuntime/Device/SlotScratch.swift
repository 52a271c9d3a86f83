import HASKernels

/// One worker's scratch for the slot-by-slot walk (`has_slot_scratch`, for up
/// to `capacity` slots at a time), and the walk itself.
///
/// The walk (which of a PE's slots fail, and their draws, for rates ≥ 1/16;
/// docs/fault-profile.md) has one implementation, `decide_slots` in
/// slot_injection.c: the injector's C kernels use it directly and every Swift
/// sampler through `decide` here.
public final class SlotScratch {
    public let capacity: Int
    let raw: has_slot_scratch

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        let ahead = Int(has_slot_outputs(Int64(self.capacity)))
        let walkBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * ahead)
        raw = has_slot_scratch(failed: .allocate(capacity: self.capacity),
                               draws: .allocate(capacity: self.capacity), outputs: .allocate(capacity: ahead),
                               failures: walkBytes, two_pairs: walkBytes + ahead)
    }

    deinit {
        raw.failed.deallocate(); raw.draws.deallocate(); raw.outputs.deallocate()
        raw.failures.deallocate()
    }

    /// Decides the first `slots` (≤ `capacity`) slots of the stream whose
    /// SplitMix64 state is `state`, failing below `threshold` (`Mode.slotThreshold`).
    /// Returns the number of faults; `failed[n]` is nonzero where slot n fails, `draws[n]` its draw.
    @inline(__always)
    public func decide(state: UInt64, threshold: UInt64, slots: Int) -> Int {
        precondition(slots <= capacity, "\(slots) slots in a scratch for \(capacity)")
        var stream = has_slot_stream(state: state, word: 0, bits_left: 0)
        return Int(has_decide_slots(&stream, threshold, Int64(slots), raw))
    }

    public var failed: UnsafePointer<Int32> { UnsafePointer(raw.failed) }
    public var draws: UnsafePointer<UInt64> { UnsafePointer(raw.draws) }
}
