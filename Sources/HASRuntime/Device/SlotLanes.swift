import HASKernels

/// One worker's scratch for `has_decide_slot_lanes`: the slot decisions of up
/// to `HAS_SLOT_LANES` images of one PE (fail bits and draws per image), for
/// PEs of up to `capacity` slots, and one tile's products.
final class SlotLanes {
    static let lanes = Int(HAS_SLOT_LANES)
    /// Slots per lane, rounded up to a multiple of 8.
    let stride: Int
    let states = UnsafeMutablePointer<UInt64>.allocate(capacity: SlotLanes.lanes)
    let draws: UnsafeMutablePointer<UInt64>
    let fails: UnsafeMutablePointer<UInt8>
    let products: UnsafeMutablePointer<Float>

    init(capacity: Int, columns: Int) {
        stride = (max(1, capacity) + 7) / 8 * 8
        draws = .allocate(capacity: Self.lanes * stride)
        // 8 bytes after the last lane for has_apply_tile_lane's unaligned reads.
        fails = .allocate(capacity: Self.lanes * stride / 8 + 8)
        fails.initialize(repeating: 0, count: Self.lanes * stride / 8 + 8)
        products = .allocate(capacity: max(1, columns))
    }

    deinit {
        states.deallocate(); draws.deallocate(); fails.deallocate(); products.deallocate()
    }

    /// Decides the first `slots` slots of the streams `states[0..<lanes]` (one PE's images).
    @inline(__always)
    func decide(lanes: Int, threshold: UInt64, slots: Int) {
        precondition(slots <= stride && lanes <= Self.lanes)
        has_decide_slot_lanes(states, Int64(lanes), threshold, Int64(slots), Int64(stride), draws, fails)
    }

    /// Lane `i`'s fail bits (bit n: slot n) and draws.
    @inline(__always) func fails(lane i: Int) -> UnsafePointer<UInt8> { UnsafePointer(fails + i * (stride / 8)) }
    @inline(__always) func draws(lane i: Int) -> UnsafePointer<UInt64> { UnsafePointer(draws + i * stride) }
}
