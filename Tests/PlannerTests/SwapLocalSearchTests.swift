@testable import HASPlanner
import HASRuntime
import XCTest

final class SwapLocalSearchTests: XCTestCase {
    typealias Matching = GeneticAlgorithmTests.Matching

    func testClimbsToTheOptimumOfAMatchingProblem() {
        // Every non-optimal plan of this problem has an improving swap, so the climb must reach 1.
        let problem = Matching(sizes: [9, 5], seed: 4)
        var rng = SplitMix64(seed: 8)
        let start: Chromosome = [Permutations.random(9, using: &rng), Permutations.random(5, using: &rng)]
        var seen = Set<Chromosome>()
        let result = SwapLocalSearch.climb(from: start, fitness: problem.fitness(start), budget: 10_000) { batch in
            for c in batch { XCTAssertTrue(seen.insert(c).inserted, "evaluated twice") }
            return batch.map(problem.fitness)
        }
        XCTAssertEqual(result.fitness, 1)
        XCTAssertEqual(result.chromosome, problem.targets)
        XCTAssertEqual(result.evaluations, seen.count)
        XCTAssertFalse(result.improvements.isEmpty)
        for (a, b) in zip(result.improvements, result.improvements.dropFirst()) { XCTAssertGreaterThan(b.fitness, a.fitness) }
    }

    func testAcceptedSwapsDoNotDependOnTheBatchAndKnownPlansAreFree() {
        let problem = Matching(sizes: [12], seed: 6)
        var rng = SplitMix64(seed: 3)
        let start: Chromosome = [Permutations.random(12, using: &rng)]
        let climbs = [1, 5, 32].map { batch in
            SwapLocalSearch.climb(from: start, fitness: problem.fitness(start), budget: 10_000, batch: batch) {
                $0.map(problem.fitness)
            }
        }
        for c in climbs.dropFirst() {
            XCTAssertEqual(c.chromosome, climbs[0].chromosome)
            XCTAssertEqual(c.improvements.map(\.fitness), climbs[0].improvements.map(\.fitness))
        }
        // Plans whose fitness is known are neither evaluated nor counted.
        var known: [Chromosome: Double] = [:]
        for i in 0..<12 { for j in (i + 1)..<12 { var c = start; c[0].swapAt(i, j); known[c] = problem.fitness(c) } }
        let reused = SwapLocalSearch.climb(from: start, fitness: problem.fitness(start), budget: 10_000, known: known, batch: 1) { batch in
            for c in batch { XCTAssertNil(known[c], "a known plan was evaluated") }
            return batch.map(problem.fitness)
        }
        XCTAssertEqual(reused.chromosome, climbs[0].chromosome)
        XCTAssertLessThan(reused.evaluations, climbs[0].evaluations)
    }

    func testBudgetIsRespected() {
        let problem = Matching(sizes: [16], seed: 1)
        var rng = SplitMix64(seed: 2)
        let start: Chromosome = [Permutations.random(16, using: &rng)]
        var calls = 0
        let result = SwapLocalSearch.climb(from: start, fitness: problem.fitness(start), budget: 7, batch: 3) { batch in
            calls += batch.count
            return batch.map(problem.fitness)
        }
        XCTAssertEqual(calls, 7)
        XCTAssertEqual(result.evaluations, 7)
        XCTAssertGreaterThanOrEqual(result.fitness, problem.fitness(start))
        XCTAssertEqual(result.fitness, problem.fitness(result.chromosome))
    }
}
