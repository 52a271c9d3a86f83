import HASKernels

/// A matrix operand seen through strides: element (i, j) is at `base[i * rowStride + j * colStride]`.
public struct StridedMatrix<Pointer> {
    public var base: Pointer
    public var rowStride: Int
    public var colStride: Int

    public init(_ base: Pointer, rowStride: Int, colStride: Int) {
        self.base = base
        self.rowStride = rowStride
        self.colStride = colStride
    }
}

/// The runtime's SGEMM: C = A'·B with A' the rows of A seen through a permutation.
///
/// Position r of the shuffled matrix computes original row `perm[r]`
/// (A'[r] = A[perm[r]]) and its product row is stored back at C[perm[r]]
/// (unshuffle on store). The permutation is applied while packing A's panels;
/// no permuted copy of A is made. On a fault-free device the result equals the
/// unshuffled GEMM exactly (each output element is summed in the same order).
///
/// Determinism: every C element is summed k-ascending with FMA, in blocks of
/// 256 added into C, regardless of thread count, batch size or permutation.
public enum PermutedGEMM {
    /// Columns per micro-panel (the kernel's NR); work splits on multiples of it.
    static let panelColumns = 16
    static let panelRows = 6

    /// Whether the AVX2+FMA micro-kernel was selected on this CPU.
    public static var usesAVX2: Bool { has_sgemm_uses_avx2() != 0 }

    /// C[M×N] = A'[M×K] · B[K×N].
    /// - Parameters:
    ///   - a: row-major M×K (weights: rows = output neurons / conv kernels), leading dimension `lda`.
    ///   - b: K×N operand with arbitrary strides (im2col patches, or Xᵀ for a batch of dense inputs).
    ///   - c: M×N output with arbitrary strides; overwritten.
    ///   - permutation: `m` row indices forming a permutation of 0..<m, or nil for identity.
    ///   - threads: worker threads; the result does not depend on it.
    /// - Complexity: O(M·N·K).
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: StridedMatrix<UnsafePointer<Float>>,
        c: StridedMatrix<UnsafeMutablePointer<Float>>,
        permutation: UnsafeBufferPointer<Int32>? = nil,
        threads: Int = Parallelism.threads
    ) {
        multiply(m: m, n: n, k: k, a: a, lda: lda, packed: nil, b: b, c: c, permutation: permutation, threads: threads)
    }

    /// As above, with A also available pre-packed (`packed` made from the same
    /// `a`). The packed copy is used only when there is no permutation; the
    /// result is bit-identical either way.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        packed: PackedWeights?,
        b: StridedMatrix<UnsafePointer<Float>>,
        c: StridedMatrix<UnsafeMutablePointer<Float>>,
        permutation: UnsafeBufferPointer<Int32>? = nil,
        threads: Int = Parallelism.threads
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0)
        precondition(packed == nil || (packed!.m == m && packed!.k == k), "packed weights of another shape")
        precondition(permutation == nil || permutation!.count == m, "permutation must have m entries")
        if m == 0 || n == 0 { return }
        let perm = permutation?.baseAddress
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        let workers = flops < 2e6 ? 1 : threads
        // Each worker packs all of the operand it does not split, so split the
        // side whose partner is smaller. Ranges never change any element's arithmetic.
        let prepacked = perm == nil ? packed?.storage : nil
        // With A pre-packed and small (re-read from L2/L3), splitting columns
        // costs only re-reading packed A, while splitting rows would make every
        // worker pack all of B. A large pre-packed A (h0: 25 MB) is split by
        // rows instead: each column chunk would stream all of A from memory
        // again for a few columns (measured 120 vs 190 GFLOP/s, 8 chunks vs 2 row ranges).
        let largeA = m * k > 256 * 1024
        let splitRows = m >= workers * panelRows * 4 && (n < m || n < workers * panelColumns * 2)
            && !(prepacked != nil && n >= workers * panelColumns * 4 && !largeA)
        func range(_ rows: Range<Int>, _ cols: Range<Int>) {
            if let prepacked {
                has_sgemm_range_packed(Int64(rows.lowerBound), Int64(rows.upperBound),
                                       Int64(cols.lowerBound), Int64(cols.upperBound), Int64(k),
                                       a, Int64(lda), prepacked, Int64(m), b.base, Int64(b.rowStride), Int64(b.colStride),
                                       c.base, Int64(c.rowStride), Int64(c.colStride))
            } else {
                has_sgemm_range(Int64(rows.lowerBound), Int64(rows.upperBound),
                                Int64(cols.lowerBound), Int64(cols.upperBound), Int64(k),
                                a, Int64(lda), b.base, Int64(b.rowStride), Int64(b.colStride),
                                c.base, Int64(c.rowStride), Int64(c.colStride), perm)
            }
        }
        if !splitRows {
            // More column chunks than workers when a chunk's extra cost is small
            // (re-reading packed A, or packing a small A): workers take chunks as
            // they free up, so one the OS preempts (shared machine) does not
            // hold the others up. Chunks never change any element's arithmetic.
            let units = (n + panelColumns - 1) / panelColumns
            let cheapChunks = prepacked != nil || m * k <= 64 * 1024
            let parts = workers <= 1 ? 1 : min(units, cheapChunks ? workers * 4 : workers)
            if parts <= 1 {
                range(0..<m, 0..<n)
            } else {
                Parallelism.forEach(parts, threads: workers) { part in
                    let lo = min(n, units * part / parts * panelColumns)
                    let hi = min(n, units * (part + 1) / parts * panelColumns)
                    if lo < hi { range(0..<m, lo..<hi) }
                }
            }
        } else if let prepacked, workers > 1, n > 4, n <= Int(has_sgemm_packed_b_max_columns()) {
            // Every row range needs all of B: pack it once, the K blocks split
            // among the workers, instead of once per worker.
            let kBlocks = (k + 255) / 256
            PackedOperandPool.shared.withBuffer(count: Int(has_sgemm_packed_b_count(Int64(k), Int64(n)))) { bPacked in
                Parallelism.forRanges(kBlocks, threads: workers) { blocks in
                    has_sgemm_pack_b(Int64(blocks.lowerBound * 256), Int64(min(k, blocks.upperBound * 256)),
                                     Int64(k), Int64(n), b.base, Int64(b.rowStride), Int64(b.colStride), bPacked)
                }
                Parallelism.forRanges(m, granule: panelRows, threads: workers) { rows in
                    has_sgemm_range_packed_ab(Int64(rows.lowerBound), Int64(rows.upperBound), Int64(n), Int64(k),
                                              a, Int64(lda), prepacked, Int64(m), bPacked,
                                              c.base, Int64(c.rowStride), Int64(c.colStride))
                }
            }
        } else {
            Parallelism.forRanges(m, granule: panelRows, threads: workers) { rows in range(rows, 0..<n) }
        }
    }

    /// The readable scalar reference with the same summation order (for tests and benchmarks).
    public static func reference(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: StridedMatrix<UnsafePointer<Float>>,
        c: StridedMatrix<UnsafeMutablePointer<Float>>,
        permutation: UnsafeBufferPointer<Int32>? = nil
    ) {
        has_sgemm_reference(Int64(m), Int64(n), Int64(k), a, Int64(lda),
                            b.base, Int64(b.rowStride), Int64(b.colStride),
                            c.base, Int64(c.rowStride), Int64(c.colStride), permutation?.baseAddress)
    }
}
