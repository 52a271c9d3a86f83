import HASKernels

/// One worker's scratch for the slot path over a group of images
/// (`FaultInjector.injectBySlots`): the slot codes of every thread of one
/// block for up to `HAS_SLOT_LANES` images (`has_decide_slot_codes`, one byte
/// per slot), and the products of one K tile for every thread's row.
final class SlotLanes {
    static let lanes = Int(HAS_SLOT_LANES)
    let threads: Int
    /// Slots per lane (a PE's slots, rounded up to a multiple of 8).
    let stride: Int
    let columns: Int
    let states = UnsafeMutablePointer<UInt64>.allocate(capacity: SlotLanes.lanes)
    /// [thread][lane][slot].
    let codes: UnsafeMutablePointer<UInt8>
    /// [row of the tile][column].
    let products: UnsafeMutablePointer<Float>
    /// A's rows whose products a tile needs, and their threads and rows of C.
    let aRows: UnsafeMutablePointer<UnsafePointer<Float>?>
    let productRows: UnsafeMutablePointer<(thread: Int, row: Int)>

    /// For PEs of up to `capacity` slots, tiles of `columns` columns.
    init(threads: Int, capacity: Int, columns: Int) {
        self.threads = threads
        self.columns = columns
        stride = (max(1, capacity) + 7) / 8 * 8
        codes = .allocate(capacity: threads * Self.lanes * stride)
        products = .allocate(capacity: threads * max(1, columns))
        aRows = .allocate(capacity: threads)
        productRows = .allocate(capacity: threads)
    }

    deinit {
        states.deallocate(); codes.deallocate(); products.deallocate(); aRows.deallocate()
        productRows.deallocate()
    }

    /// Decides the first `slots` slots of the streams `states[0..<lanes]` (the images of thread `t`'s PE).
    @inline(__always)
    func decide(thread t: Int, lanes: Int, threshold: UInt64, slots: Int, exponentBits: Int32) {
        precondition(slots <= stride && lanes <= Self.lanes && t < threads)
        has_decide_slot_codes(states, Int64(lanes), threshold, Int64(slots), Int64(stride), exponentBits,
                              codes + (t * Self.lanes) * stride)
    }

    /// Thread `t`'s codes for lane `i` from slot `slot` on.
    @inline(__always)
    func codes(thread t: Int, lane i: Int, slot: Int) -> UnsafePointer<UInt8> {
        UnsafePointer(codes + (t * Self.lanes + i) * stride + slot)
    }
}
