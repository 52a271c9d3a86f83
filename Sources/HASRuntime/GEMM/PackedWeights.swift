import Foundation
import HASKernels

/// A weight matrix packed once into the micro-kernel's panel layout.
///
/// Only the identity order can be pre-packed: a shuffled GEMM packs its panels
/// through the permutation on every call (the zero-copy view of HAS), so this
/// is what clean inference gains, never a permuted copy of A.
///
/// Packing happens on first use (thread-safe), so loading a bundle or running
/// only shuffled layers never pays for it.
public final class PackedWeights: @unchecked Sendable {
    public let m: Int
    public let k: Int
    private let weights: [Float]
    private var packed: UnsafeMutablePointer<Float>?
    private let lock = NSLock()

    /// Will pack a row-major m×k array (shared, not copied, until first use).
    public init(m: Int, k: Int, weights: [Float]) {
        precondition(m >= 0 && k >= 0 && weights.count == m * k)
        self.m = m
        self.k = k
        self.weights = weights
    }

    /// Packs now an m×k block of a row-major matrix whose rows are `lda` apart
    /// (for example some of its columns), without keeping a copy of it.
    public init(m: Int, k: Int, packing a: UnsafePointer<Float>, lda: Int) {
        precondition(m >= 0 && k >= 0 && lda >= k)
        self.m = m
        self.k = k
        weights = []
        let p = UnsafeMutablePointer<Float>.allocate(capacity: Int(has_sgemm_packed_a_count(Int64(m), Int64(k))))
        if m > 0 && k > 0 { has_sgemm_pack_a(Int64(m), Int64(k), a, Int64(lda), p) }
        packed = p
    }

    /// The packed panels (has_sgemm_pack_a's layout), packed now if not yet.
    var storage: UnsafeMutablePointer<Float> {
        lock.lock()
        defer { lock.unlock() }
        if let packed { return packed }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: Int(has_sgemm_packed_a_count(Int64(m), Int64(k))))
        if !weights.isEmpty {
            weights.withUnsafeBufferPointer { has_sgemm_pack_a(Int64(m), Int64(k), $0.baseAddress!, Int64(k), p) }
        }
        packed = p
        return p
    }

    deinit { packed?.deallocate() }
}
