/// A clean dense layer's output updated for the inputs the faults changed:
/// y = y_clean + Σ_j W[:, j]·Δx_j. `FaultyEvaluator`'s incremental mode and
/// the sensitivity sweep both use it, so that their predictions agree bit for bit.
enum DenseDeltaUpdate {
    /// Beyond this many changed inputs (of `k`) a full GEMM of the image is cheaper.
    @inline(__always)
    static func maxChanges(inputs k: Int) -> Int { max(1, k / 16) }

    /// The inputs j (ascending) whose bits differ between `faulty` and `clean`,
    /// stopping at `maxChanges + 1` (the caller then runs a full GEMM instead).
    @inline(__always)
    static func changedInputs(_ faulty: UnsafePointer<Float>, _ clean: UnsafePointer<Float>, count k: Int,
                              maxChanges: Int, into changed: inout [Int]) {
        changed.removeAll(keepingCapacity: true)
        for j in 0..<k where faulty[j].bitPattern != clean[j].bitPattern {
            changed.append(j)
            if changed.count > maxChanges { break }
        }
    }

    /// y[row] += W[row, j] · (faulty[j] − clean[j]) for each changed j, in order, from W transposed (K×M).
    @inline(__always)
    static func addDeltas(_ changed: [Int], faulty: UnsafePointer<Float>, clean: UnsafePointer<Float>,
                          transposed: UnsafePointer<Float>, outputs m: Int, to y: UnsafeMutablePointer<Float>) {
        for j in changed {
            let delta = faulty[j] - clean[j], column = transposed + j * m
            for row in 0..<m { y[row] += column[row] * delta }
        }
    }
}
