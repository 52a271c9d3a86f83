import HASKernels

/// Faults gathered so that their partial products run together
/// (`has_partial_products`: the scattered weight rows are fetched in
/// parallel), then handed back one by one in the order they were added, so
/// that corrections keep the sampler's order. `Fault` is what the caller
/// needs to apply a correction (where, which draw).
final class PartialProductBatch<Fault> {
    static var capacity: Int { 64 }
    private let bRowStride: Int
    private let aRows = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: capacity)
    private let bColumns = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: capacity)
    private let lengths = UnsafeMutablePointer<Int64>.allocate(capacity: capacity)
    private let products = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
    private let faults = UnsafeMutablePointer<Fault>.allocate(capacity: capacity)
    private var count = 0

    /// `bRowStride`: the distance between consecutive K elements of a B column.
    init(bRowStride: Int) {
        self.bRowStride = bRowStride
    }

    deinit {
        faults.deinitialize(count: count)
        aRows.deallocate(); bColumns.deallocate(); lengths.deallocate(); products.deallocate(); faults.deallocate()
    }

    /// Adds the fault whose clean partial product is Σ a[k]·b[k·bRowStride], k < `length`;
    /// when the batch is full, runs it through `apply(fault, product)`.
    @inline(__always)
    func add(_ fault: Fault, a: UnsafePointer<Float>, b: UnsafePointer<Float>, length: Int, apply: (Fault, Float) -> Void) {
        aRows[count] = a
        bColumns[count] = b
        lengths[count] = Int64(length)
        (faults + count).initialize(to: fault)
        count += 1
        if count == Self.capacity { flush(apply) }
    }

    /// Computes the gathered partial products and hands each fault its product, in order.
    @inline(__always)
    func flush(_ apply: (Fault, Float) -> Void) {
        if count == 0 { return }
        has_partial_products(Int64(count), aRows, bColumns, lengths, Int64(bRowStride), products)
        for j in 0..<count { apply((faults + j).move(), products[j]) }
        count = 0
    }
}
