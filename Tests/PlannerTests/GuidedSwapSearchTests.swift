@testable import HASPlanner
import HASRuntime
import XCTest

final class GuidedSwapSearchTests: XCTestCase {
    /// An additive problem: fitness = −Σ_r truth[π[r]][r]; the climb is guided by a noisy copy of `truth`.
    struct Additive {
        var truth: [[Double]]
        var model: [[Double]]
        init(size: Int, noise: Double, seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            truth = (0..<size).map { _ in (0..<size).map { _ in rng.unit() } }
            model = truth.map { $0.map { $0 + noise * (rng.unit() - 0.5) } }
        }
        func fitness(_ c: Chromosome) -> Double { -c[0].indices.reduce(0) { $0 + truth[Int(c[0][$1])][$1] } }
    }

    func testClimbCorrectsAWrongModelAndTriesTheLeastHarmfulSwapFirst() {
        let problem = Additive(size: 10, noise: 0.8, seed: 3)
        let start: Chromosome = [AssignmentStrategy.permutation(matrix: problem.model)]
        let optimum: Chromosome = [AssignmentStrategy.permutation(matrix: problem.truth)]
        XCTAssertLessThan(problem.fitness(start), problem.fitness(optimum), "the model must be wrong for this test to mean anything")
        var evaluated: [Chromosome] = []
        let result = GuidedSwapSearch.climb(from: start, fitness: problem.fitness(start), matrices: [problem.model], budget: 1_000) {
            evaluated += $0
            return $0.map(problem.fitness)
        }
        XCTAssertEqual(Set(evaluated).count, evaluated.count, "a plan was evaluated twice")
        XCTAssertEqual(result.evaluations, evaluated.count)
        XCTAssertGreaterThan(result.fitness, problem.fitness(start))
        XCTAssertEqual(result.fitness, problem.fitness(result.chromosome))
        for (a, b) in zip(result.improvements, result.improvements.dropFirst()) { XCTAssertGreaterThan(b.fitness, a.fitness) }
        // The first candidate is the swap the model predicts to hurt least.
        let p = start[0].map(Int.init), c = problem.model
        var bestChange = -Double.infinity, bestSwap = (0, 0)
        for a in 0..<10 { for b in (a + 1)..<10 {
            let change = c[p[a]][a] + c[p[b]][b] - c[p[a]][b] - c[p[b]][a]
            if change > bestChange { (bestChange, bestSwap) = (change, (a, b)) }
        } }
        var first = start
        first[0].swapAt(bestSwap.0, bestSwap.1)
        XCTAssertEqual(evaluated.first, first)
    }

    func testBudgetAndUnsearchedLayersAreRespected() {
        let problem = Additive(size: 8, noise: 1.0, seed: 5)
        let start: Chromosome = [AssignmentStrategy.permutation(matrix: problem.model), Permutations.identity(4)]
        var count = 0
        let result = GuidedSwapSearch.climb(from: start, fitness: problem.fitness(start), matrices: [problem.model, nil], budget: 7) {
            count += $0.count
            for c in $0 { XCTAssertEqual(c[1], Permutations.identity(4), "a layer without a matrix was changed") }
            return $0.map(problem.fitness)
        }
        XCTAssertEqual(count, 7)
        XCTAssertEqual(result.evaluations, 7)
    }
}
