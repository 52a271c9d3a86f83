import Foundation
import HASRuntime
import XCTest
@testable import HASPlanner

final class GeneticAlgorithmTests: XCTestCase {
    func testOrderCrossoverKeepsSliceAndMakesPermutations() {
        var rng = SplitMix64(seed: 7)
        for n in [1, 2, 3, 8, 33] {
            for _ in 0..<50 {
                let p1 = Permutations.random(n, using: &rng), p2 = Permutations.random(n, using: &rng)
                let (c1, c2) = GeneticOperators.orderCrossover(p1, p2, using: &rng)
                XCTAssertTrue(Permutations.isPermutation(c1, of: n))
                XCTAssertTrue(Permutations.isPermutation(c2, of: n))
            }
        }
        // Worked example (Davis OX1): slice 3...5 of p1 kept; p2 read from index 6 on
        // (1, 0, 7, 6, [5, 4, 3 taken], 2) fills positions 6, 7, 0, 1, 2.
        let p1: [Int32] = [0, 1, 2, 3, 4, 5, 6, 7], p2: [Int32] = [7, 6, 5, 4, 3, 2, 1, 0]
        XCTAssertEqual(GeneticOperators.orderCrossover(keep: p1, fill: p2, 3, 5), [7, 6, 2, 3, 4, 5, 1, 0])
    }

    func testSwapMutationSwapsExactlyTwo() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<100 {
            var p = Permutations.identity(10)
            GeneticOperators.swapMutation(&p, using: &rng)
            XCTAssertTrue(Permutations.isPermutation(p, of: 10))
            XCTAssertEqual(zip(p, Permutations.identity(10)).filter { $0 != $1 }.count, 2)
        }
    }

    func testBelowIsUniformEnough() {
        var rng = SplitMix64(seed: 11)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<50_000 { counts[rng.below(5)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 500) }
    }

    /// A synthetic problem with a known optimum: position r wants row target[r];
    /// fitness is the weighted share of positions holding their target row.
    struct Matching {
        let targets: [[Int32]]
        let weights: [[Double]]
        init(sizes: [Int], seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            targets = sizes.map { Permutations.random($0, using: &rng) }
            weights = sizes.map { n in (0..<n).map { _ in 0.5 + rng.unit() } }
        }
        func fitness(_ c: Chromosome) -> Double {
            var hit = 0.0, total = 0.0
            for l in c.indices {
                for r in c[l].indices {
                    total += weights[l][r]
                    if c[l][r] == targets[l][r] { hit += weights[l][r] }
                }
            }
            return hit / total
        }
    }

    func testImprovesSyntheticProblemAndNeverReevaluates() throws {
        let problem = Matching(sizes: [10, 6], seed: 5)
        var seen = Set<Chromosome>(), calls = 0
        let config = GAConfiguration(population: 20, generations: 60, seed: 9)
        let ga = try GeneticAlgorithm(configuration: config, layerSizes: [10, 6]) { batch in
            calls += batch.count
            for c in batch { XCTAssertTrue(seen.insert(c).inserted, "chromosome evaluated twice") }
            return batch.map(problem.fitness)
        }
        let initial = ga.state.best.fitness
        try ga.run()
        XCTAssertEqual(ga.state.generation, 60)
        XCTAssertEqual(calls, ga.state.evaluations)
        XCTAssertEqual(ga.state.history.count, 61)
        // Elitist: best never decreases; and the search makes real progress.
        for (a, b) in zip(ga.state.history, ga.state.history.dropFirst()) { XCTAssertGreaterThanOrEqual(b.best, a.best) }
        XCTAssertGreaterThan(ga.state.best.fitness, initial + 0.3)
        XCTAssertEqual(ga.state.best.fitness, problem.fitness(ga.state.best.chromosome))
    }

    func testSeedsEnterThePopulation() throws {
        let problem = Matching(sizes: [12], seed: 2)
        let ga = try GeneticAlgorithm(configuration: GAConfiguration(population: 6, generations: 0, seed: 1),
                                      layerSizes: [12], seeds: [problem.targets]) { $0.map(problem.fitness) }
        XCTAssertEqual(ga.state.best.fitness, 1)
        XCTAssertEqual(ga.state.best.chromosome, problem.targets)
    }

    func testSameSeedSameRunAndResumeIsBitIdentical() throws {
        let problem = Matching(sizes: [9, 5], seed: 8)
        let config = GAConfiguration(population: 8, generations: 12, crossoverRate: 0.7, mutationRate: 0.3, seed: 42)
        let fitness: GeneticAlgorithm.Fitness = { $0.map(problem.fitness) }
        let a = try GeneticAlgorithm(configuration: config, layerSizes: [9, 5], fitness: fitness)
        try a.run()
        let b = try GeneticAlgorithm(configuration: config, layerSizes: [9, 5], fitness: fitness)
        try b.run()
        XCTAssertEqual(a.state, b.state)

        // Interrupted after generation 5 (the checkpoint goes through JSON), then resumed.
        struct Stop: Error {}
        var checkpoint = Data()
        let c = try GeneticAlgorithm(configuration: config, layerSizes: [9, 5], fitness: fitness)
        XCTAssertThrowsError(try c.run { state in
            checkpoint = try JSONEncoder().encode(state)
            if state.generation == 5 { throw Stop() }
        })
        let restored = try JSONDecoder().decode(GAState.self, from: checkpoint)
        XCTAssertEqual(restored.generation, 5)
        let resumed = GeneticAlgorithm(resuming: restored, fitness: fitness)
        try resumed.run()
        XCTAssertEqual(resumed.state, a.state)

        // Another seed searches differently.
        var other = config
        other.seed = 43
        let d = try GeneticAlgorithm(configuration: other, layerSizes: [9, 5], fitness: fitness)
        try d.run()
        XCTAssertNotEqual(d.state.evaluated.map(\.chromosome), a.state.evaluated.map(\.chromosome))
    }
}
