import HASKernels

/// A weight matrix packed once into the micro-kernel's panel layout.
///
/// Only the identity order can be pre-packed: a shuffled GEMM packs its panels
/// through the permutation on every call (the zero-copy view of HAS), so this
/// is what clean inference gains, never a permuted copy of A.
public final class PackedWeights: @unchecked Sendable {
    public let m: Int
    public let k: Int
    let storage: UnsafeMutablePointer<Float>

    /// Packs a row-major m×k array.
    public init(m: Int, k: Int, weights: [Float]) {
        precondition(m >= 0 && k >= 0 && weights.count == m * k)
        self.m = m
        self.k = k
        storage = .allocate(capacity: Int(has_sgemm_packed_a_count(Int64(m), Int64(k))))
        weights.withUnsafeBufferPointer { has_sgemm_pack_a(Int64(m), Int64(k), $0.baseAddress!, Int64(k), storage) }
    }

    deinit { storage.deallocate() }
}
