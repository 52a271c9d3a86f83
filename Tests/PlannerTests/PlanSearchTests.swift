import Foundation
import HASRuntime
import XCTest
@testable import HASPlanner

/// The strategies on a small problem where faults cost accuracy, and the
/// runner's checkpoint / resume through files.
final class PlanSearchTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("plan-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func problem(layers: [String] = ["c0"], images count: Int = 300) throws -> PlanSearch {
        let network = try PlannerTestSupport.smallCNN(channels: 2, padding: 1)
        let images = PlannerTestSupport.images(count, for: network)
        let labels = PlannerTestSupport.labels(network, images)
        let profile = try PlannerTestSupport.device(kind: .flip1, frMax: 0.04, seed: 7)
        return try PlanSearch(network: network, profile: profile, layers: layers, images: images, labels: labels,
                              imageIndices: Array(0..<count), faultSeeds: [1, 2], threads: 2)
    }

    func testStrategiesImproveOnTheUnshuffledSchedule() throws {
        let search = try problem()
        XCTAssertTrue(search.incremental)
        let faulty = search.fitness(search.identity)
        XCTAssertLessThan(faulty, 0.97, "the device must cost accuracy for this test to mean anything")

        let assignment = try search.assign()
        XCTAssertTrue(Permutations.isPermutation(assignment.chromosome[0], of: 8))
        let assigned = search.fitness(assignment.chromosome)
        XCTAssertGreaterThan(assigned, faulty)

        let config = GAConfiguration(population: 10, generations: 8, seed: 3)
        let ga = try GeneticAlgorithm(configuration: config, layerSizes: search.layerSizes, seeds: [search.identity],
                                      fitness: search.fitnessFunction)
        try ga.run()
        XCTAssertGreaterThan(ga.state.best.fitness, faulty)
        XCTAssertEqual(ga.state.best.fitness, search.fitness(ga.state.best.chromosome))

        let hybrid = try GeneticAlgorithm(configuration: config, layerSizes: search.layerSizes,
                                          seeds: PlanSearch.perturbations(of: assignment.chromosome, count: 10, seed: 3),
                                          fitness: search.fitnessFunction)
        try hybrid.run()
        XCTAssertGreaterThanOrEqual(hybrid.state.best.fitness, assigned)
    }

    func testTwoLayerPlansUseTheFullEvaluator() throws {
        let search = try problem(layers: ["c0", "h0"], images: 60)
        XCTAssertFalse(search.incremental)
        XCTAssertEqual(search.layerSizes, [8, 40])
        let a = try search.assign()
        XCTAssertEqual(a.chromosome.map(\.count), [8, 40])
        XCTAssertTrue(zip(a.chromosome, [8, 40]).allSatisfy { Permutations.isPermutation($0, of: $1) })
    }

    func testResumedRunEndsWhereTheUninterruptedOneDoes() throws {
        let search = try problem(images: 150)
        let config = GAConfiguration(population: 8, generations: 7, seed: 5)
        let key = PlanRunKey(model: "small-cnn", weightsDigest: "d", fingerprint: "f", layers: ["c0"], strategy: .hybrid,
                             fitnessImages: "0:150", faultSeeds: [1, 2], configuration: config)
        let checkpoint = dir.appendingPathComponent("run.checkpoint.json").path
        let saved = dir.appendingPathComponent("after-gen-3.json").path
        let full = PlanRunner(search: search, strategy: .hybrid, configuration: config, key: key)
        full.checkpointPath = checkpoint
        full.onProgress = { generation, _, _, _, _ in
            if generation == 3 { try? FileManager.default.copyItem(atPath: checkpoint, toPath: saved) }
        }
        let uninterrupted = try full.run()

        let resumed = PlanRunner(search: search, strategy: .hybrid, configuration: config, key: key)
        let state = try PlanCheckpoint.load(from: saved)
        XCTAssertEqual(state.state.generation, 3)
        let result = try resumed.run(resume: state)
        XCTAssertEqual(result.chromosome, uninterrupted.chromosome)
        XCTAssertEqual(result.fitness.bitPattern, uninterrupted.fitness.bitPattern)
        XCTAssertEqual(result.evaluations, uninterrupted.evaluations)
        XCTAssertEqual(result.convergence.map(\.best), uninterrupted.convergence.map(\.best))

        var otherKey = key
        otherKey.faultSeeds = [9]
        XCTAssertThrowsError(try PlanRunner(search: search, strategy: .hybrid, configuration: config, key: otherKey).run(resume: state))
    }

    /// The paper's "3 GA runs, best kept": each run is the single run with the next seed, the result is
    /// the best of them, and a run interrupted in its second GA run resumes to the same end.
    func testSeveralRunsKeepTheBestAndResume() throws {
        let search = try problem(images: 150)
        let config = GAConfiguration(population: 6, generations: 4, seed: 11)
        func key(runs: Int, seed: UInt64 = 11) -> PlanRunKey {
            var c = config
            c.seed = seed
            return PlanRunKey(model: "small-cnn", weightsDigest: "d", fingerprint: "f", layers: ["c0"], strategy: .ga,
                              fitnessImages: "0:150", faultSeeds: [1, 2], configuration: c, runs: runs)
        }
        let singles = try (0..<3).map { i -> PlanRunner.Result in
            var c = config
            c.seed = 11 + UInt64(i)
            return try PlanRunner(search: search, strategy: .ga, configuration: c, key: key(runs: 1, seed: c.seed)).run()
        }
        XCTAssertGreaterThan(Set(singles.map(\.fitness)).count, 1, "the runs must differ for this test to mean anything")

        let checkpoint = dir.appendingPathComponent("run.checkpoint.json").path
        let saved = dir.appendingPathComponent("run2-gen2.json").path
        let three = PlanRunner(search: search, strategy: .ga, configuration: config, key: key(runs: 3))
        three.checkpointPath = checkpoint
        three.onProgress = { generation, total, _, _, _ in
            XCTAssertEqual(total, 12)
            if generation == 6 { try? FileManager.default.copyItem(atPath: checkpoint, toPath: saved) }
        }
        let result = try three.run()
        let best = singles.map(\.fitness).max()!
        XCTAssertEqual(result.fitness, best)
        XCTAssertEqual(result.chromosome, singles.first { $0.fitness == best }!.chromosome)
        XCTAssertEqual(search.fitness(result.chromosome), result.fitness)
        XCTAssertEqual(result.convergence.count, 15)
        XCTAssertEqual(result.convergence.last?.best, best)
        XCTAssertEqual(result.convergence.map(\.best), result.convergence.map(\.best).sorted(), "best so far never falls")
        // Distinct chromosomes over the runs: at most the sum of each run's, at least the largest.
        XCTAssertLessThanOrEqual(result.evaluations, singles.reduce(0) { $0 + $1.evaluations })
        XCTAssertGreaterThan(result.evaluations, singles.map(\.evaluations).max()!)

        let state = try PlanCheckpoint.load(from: saved)
        XCTAssertEqual(state.finishedRuns?.count, 1)
        XCTAssertEqual(state.state.generation, 2)
        let resumed = try PlanRunner(search: search, strategy: .ga, configuration: config, key: key(runs: 3)).run(resume: state)
        XCTAssertEqual(resumed.chromosome, result.chromosome)
        XCTAssertEqual(resumed.fitness.bitPattern, result.fitness.bitPattern)
        XCTAssertEqual(resumed.evaluations, result.evaluations)
        XCTAssertEqual(resumed.convergence.map(\.best), result.convergence.map(\.best))
        XCTAssertEqual(resumed.convergence.map(\.evaluations), result.convergence.map(\.evaluations))
        XCTAssertThrowsError(try PlanRunner(search: search, strategy: .ga, configuration: config, key: key(runs: 2)).run(resume: state))
    }
}
