import HASRuntime

/// The paper's variation operators on permutations.
public enum GeneticOperators {
    /// Order crossover (OX1, Davis 1985): each child keeps a slice [a, b] of one
    /// parent in place and fills the other positions, starting after b and
    /// wrapping round, with the remaining rows in the order they appear in the
    /// other parent (also starting after b). Children are permutations.
    public static func orderCrossover(_ p1: [Int32], _ p2: [Int32], using rng: inout SplitMix64) -> ([Int32], [Int32]) {
        let n = p1.count
        precondition(p2.count == n)
        if n < 2 { return (p1, p2) }
        var a = rng.below(n), b = rng.below(n)
        if a > b { swap(&a, &b) }
        return (orderCrossover(keep: p1, fill: p2, a, b), orderCrossover(keep: p2, fill: p1, a, b))
    }

    static func orderCrossover(keep: [Int32], fill: [Int32], _ a: Int, _ b: Int) -> [Int32] {
        let n = keep.count
        var child = [Int32](repeating: -1, count: n)
        var used = [Bool](repeating: false, count: n)
        for i in a...b {
            child[i] = keep[i]
            used[Int(keep[i])] = true
        }
        var write = (b + 1) % n
        for step in 0..<n {
            let allele = fill[(b + 1 + step) % n]
            if used[Int(allele)] { continue }
            child[write] = allele
            write = (write + 1) % n
        }
        return child
    }

    /// Swap mutation: exchanges the rows of two distinct random positions.
    public static func swapMutation(_ p: inout [Int32], using rng: inout SplitMix64) {
        let n = p.count
        if n < 2 { return }
        let i = rng.below(n)
        var j = rng.below(n - 1)
        if j >= i { j += 1 }
        p.swapAt(i, j)
    }
}
