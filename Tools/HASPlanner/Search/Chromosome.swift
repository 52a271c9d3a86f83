import HASRuntime

/// A candidate schedule: one row permutation per planned layer.
///
/// Gene position r of a layer's permutation is the PE slot (the shuffled row
/// position r of spec §3); its allele is the original row that runs there.
public typealias Chromosome = [[Int32]]

public enum Permutations {
    /// 0, 1, …, n−1.
    public static func identity(_ n: Int) -> [Int32] { (0..<n).map { Int32($0) } }

    /// Whether `p` holds each of 0..<n exactly once.
    public static func isPermutation(_ p: [Int32], of n: Int) -> Bool {
        guard p.count == n else { return false }
        var seen = [Bool](repeating: false, count: n)
        for v in p {
            guard v >= 0, Int(v) < n, !seen[Int(v)] else { return false }
            seen[Int(v)] = true
        }
        return true
    }

    /// Whether `c` holds one permutation of each layer's rows.
    public static func isChromosome(_ c: Chromosome, layerSizes: [Int]) -> Bool {
        c.count == layerSizes.count && zip(c, layerSizes).allSatisfy { isPermutation($0, of: $1) }
    }

    /// A uniformly random permutation (Fisher–Yates).
    public static func random(_ n: Int, using rng: inout SplitMix64) -> [Int32] {
        var p = identity(n)
        shuffle(&p, using: &rng)
        return p
    }

    static func shuffle(_ p: inout [Int32], using rng: inout SplitMix64) {
        var i = p.count - 1
        while i > 0 {
            let j = rng.below(i + 1)
            p.swapAt(i, j)
            i -= 1
        }
    }
}

extension SplitMix64 {
    /// Uniform in 0..<n, by Lemire's multiply-shift with rejection. Written out
    /// (not `Int.random(in:using:)`) so that plans stay reproducible whatever
    /// the standard library's sampling does in a later Swift version.
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        while true {
            let product = next().multipliedFullWidth(by: bound)
            if product.low >= (0 &- bound) % bound { return Int(product.high) }
        }
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
