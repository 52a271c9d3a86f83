import HASRuntime
import XCTest
@testable import HASPlanner

final class AssignmentTests: XCTestCase {
    /// Every permutation of 0..<n (n ≤ 7).
    func allPermutations(_ n: Int) -> [[Int]] {
        if n == 0 { return [[]] }
        return allPermutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
    }

    func testHungarianMatchesBruteForce() {
        var rng = SplitMix64(seed: 1)
        for n in 1...6 {
            for _ in 0..<20 {
                let cost = (0..<n).map { _ in (0..<n).map { _ in (rng.unit() * 10).rounded() } }
                let column = LinearAssignment.solve(cost)
                XCTAssertEqual(Set(column).count, n)
                let got = (0..<n).map { cost[$0][column[$0]] }.reduce(0, +)
                let best = allPermutations(n).map { p in (0..<n).map { cost[$0][p[$0]] }.reduce(0, +) }.min()!
                XCTAssertEqual(got, best, accuracy: 1e-9)
            }
        }
    }

    func testSortedMatchingIsOptimalForProductCosts() {
        var rng = SplitMix64(seed: 2)
        let n = 7
        let s = (0..<n).map { _ in rng.unit() }, e = (0..<n).map { _ in rng.unit() }
        let perm = LinearAssignment.sortedMatching(sensitivity: s, exposure: e)
        XCTAssertTrue(Permutations.isPermutation(perm, of: n))
        let got = (0..<n).map { s[Int(perm[$0])] * e[$0] }.reduce(0, +)
        let best = allPermutations(n).map { p in (0..<n).map { s[p[$0]] * e[$0] }.reduce(0, +) }.min()!
        XCTAssertEqual(got, best, accuracy: 1e-12)
    }

    func testExposureFollowsTheTileMapping() {
        // 3 blocks × 2 threads; PE (s, t) has rate 10·s + t.
        let rates: [Double] = [0, 1, 10, 11, 20, 21]
        // M = 4 rows (2 row blocks), K = 5 with tileK 2 → 3 tiles.
        // Tile (l, m) on block (l·3 + m) mod 3 = m: every position sees all three blocks.
        let e = PositionExposure.meanRates(rates: rates, blocks: 3, threads: 2, rows: 4, k: 5, tileK: 2)
        XCTAssertEqual(e, [10, 11, 10, 11])
        // One tile: row block l runs on block l mod 3.
        let f = PositionExposure.meanRates(rates: rates, blocks: 3, threads: 2, rows: 6, k: 2, tileK: 2)
        XCTAssertEqual(f, [0, 1, 10, 11, 20, 21])
        // Two tiles, two row blocks: l = 1 → blocks 2 and 0 (wrap round).
        let g = PositionExposure.meanRates(rates: rates, blocks: 3, threads: 2, rows: 4, k: 4, tileK: 2)
        XCTAssertEqual(g, [5, 6, 10, 11])
    }
}
