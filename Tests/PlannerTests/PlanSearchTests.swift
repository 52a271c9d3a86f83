import Foundation
import HASRuntime
import XCTest
@testable import HASPlanner

/// The strategies on a small problem where faults cost accuracy, and the
/// runner's checkpoint / resume through files.
final class PlanSearchTests: XCTestCase {
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
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
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
}
