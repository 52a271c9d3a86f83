/// Minimum-cost perfect matching of rows to columns (the linear assignment problem).
public enum LinearAssignment {
    /// Hungarian algorithm with potentials (Kuhn–Munkres, Jonker–Volgenant
    /// style shortest augmenting paths).
    /// - Parameter cost: n×n, `cost[i][j]` = cost of giving row i column j; finite.
    /// - Returns: `column[i]`, the column matched to row i, minimising Σ cost[i][column[i]].
    /// - Complexity: O(n³).
    public static func solve(_ cost: [[Double]]) -> [Int] {
        let n = cost.count
        precondition(cost.allSatisfy { $0.count == n && $0.allSatisfy(\.isFinite) }, "cost must be square and finite")
        if n == 0 { return [] }
        // 1-based arrays with a virtual column 0, as in the classic formulation.
        var u = [Double](repeating: 0, count: n + 1), v = [Double](repeating: 0, count: n + 1)
        var rowOf = [Int](repeating: 0, count: n + 1)  // rowOf[j]: row matched to column j (1-based), 0 = free
        var way = [Int](repeating: 0, count: n + 1)
        for i in 1...n {
            rowOf[0] = i
            var j0 = 0
            var minv = [Double](repeating: .infinity, count: n + 1)
            var used = [Bool](repeating: false, count: n + 1)
            repeat {
                used[j0] = true
                let i0 = rowOf[j0]
                var delta = Double.infinity, j1 = 0
                for j in 1...n where !used[j] {
                    let reduced = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if reduced < minv[j] { minv[j] = reduced; way[j] = j0 }
                    if minv[j] < delta { delta = minv[j]; j1 = j }
                }
                for j in 0...n {
                    if used[j] { u[rowOf[j]] += delta; v[j] -= delta } else { minv[j] -= delta }
                }
                j0 = j1
            } while rowOf[j0] != 0
            repeat {
                let j1 = way[j0]
                rowOf[j0] = rowOf[j1]
                j0 = j1
            } while j0 != 0
        }
        var column = [Int](repeating: 0, count: n)
        for j in 1...n where rowOf[j] > 0 { column[rowOf[j] - 1] = j - 1 }
        return column
    }

    /// The rearrangement-inequality matching for a product cost
    /// cost(row, position) = sensitivity[row] · exposure[position]: the most
    /// sensitive row goes to the least exposed position, and so on. Optimal for
    /// that cost model; O(n log n). Returns the permutation π with π[position] = row.
    public static func sortedMatching(sensitivity: [Double], exposure: [Double]) -> [Int32] {
        precondition(sensitivity.count == exposure.count)
        let rows = sensitivity.indices.sorted { sensitivity[$0] != sensitivity[$1] ? sensitivity[$0] > sensitivity[$1] : $0 < $1 }
        let positions = exposure.indices.sorted { exposure[$0] != exposure[$1] ? exposure[$0] < exposure[$1] : $0 < $1 }
        var perm = [Int32](repeating: 0, count: sensitivity.count)
        for (row, position) in zip(rows, positions) { perm[position] = Int32(row) }
        return perm
    }
}
