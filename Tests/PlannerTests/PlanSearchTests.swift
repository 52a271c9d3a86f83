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

    /// Runs to the end, keeping a copy of the checkpoint as it was after global generation `copyAt`
    /// (what an interrupted run would have left).
    func runKeepingCheckpoint(_ runner: PlanRunner, copyAt: Int,
                              onProgress: @escaping (Int, Int) -> Void = { _, _ in }) throws -> (PlanRunner.Result, PlanCheckpoint) {
        let checkpoint = dir.appendingPathComponent("run.checkpoint.json").path
        let saved = dir.appendingPathComponent("saved-\(UUID().uuidString).json").path
        runner.checkpointPath = checkpoint
        runner.onProgress = { generation, total, _, _, _ in
            onProgress(generation, total)
            if generation == copyAt { try? FileManager.default.copyItem(atPath: checkpoint, toPath: saved) }
        }
        return (try runner.run(), try PlanCheckpoint.load(from: saved))
    }

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
        let (uninterrupted, state) = try runKeepingCheckpoint(
            PlanRunner(search: search, strategy: .hybrid, configuration: config, key: key), copyAt: 3)

        let resumed = PlanRunner(search: search, strategy: .hybrid, configuration: config, key: key)
        XCTAssertEqual(state.state.generation, 3)
        let result = try resumed.run(resume: state)
        XCTAssertEqual(result.chromosome, uninterrupted.chromosome)
        XCTAssertEqual(result.fitness.bitPattern, uninterrupted.fitness.bitPattern)
        XCTAssertEqual(result.evaluations, uninterrupted.evaluations)
        XCTAssertEqual(result.convergence.map(\.best), uninterrupted.convergence.map(\.best))

        var otherKey = key
        otherKey.faultSeeds = [9]
        XCTAssertThrowsError(try PlanRunner(search: search, strategy: .hybrid, configuration: config, key: otherKey).run(resume: state))

        // Two hybrid runs, interrupted in the second: it restarts from the saved starting plan, not a new assignment.
        let twoKey = PlanRunKey(model: "small-cnn", weightsDigest: "d", fingerprint: "f", layers: ["c0"], strategy: .hybrid,
                                fitnessImages: "0:150", faultSeeds: [1, 2], configuration: config, runs: 2)
        let (two, inSecond) = try runKeepingCheckpoint(
            PlanRunner(search: search, strategy: .hybrid, configuration: config, key: twoKey), copyAt: 9)
        XCTAssertEqual(inSecond.finishedRuns?.count, 1)
        XCTAssertNotNil(inSecond.start)
        XCTAssertEqual(two.convergence.prefix(while: { !$0.step.hasPrefix("run") }).map(\.best),
                       uninterrupted.convergence.prefix(while: { $0.step == "assign" || $0.step == "climb" }).map(\.best))
        let twoResumed = try PlanRunner(search: search, strategy: .hybrid, configuration: config, key: twoKey).run(resume: inSecond)
        XCTAssertEqual(twoResumed.chromosome, two.chromosome)
        XCTAssertEqual(twoResumed.evaluations, two.evaluations)
        XCTAssertEqual(twoResumed.convergence.map(\.best), two.convergence.map(\.best))
        XCTAssertGreaterThanOrEqual(two.fitness, uninterrupted.fitness, "the first of the two runs is the single run")
        var noStart = inSecond
        noStart.start = nil
        XCTAssertThrowsError(try PlanRunner(search: search, strategy: .hybrid, configuration: config, key: twoKey).run(resume: noStart))
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

        let (result, state) = try runKeepingCheckpoint(
            PlanRunner(search: search, strategy: .ga, configuration: config, key: key(runs: 3)), copyAt: 6) { _, total in
            XCTAssertEqual(total, 12)
        }
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

    /// A checkpoint that decodes but is not one this run could have written is refused with one
    /// line naming the file, before the GA trusts any of it.
    func testCheckpointsThatDoNotFitTheRunAreRefused() throws {
        let search = try problem(images: 60)
        let config = GAConfiguration(population: 6, generations: 3, seed: 2)
        let key = PlanRunKey(model: "small-cnn", weightsDigest: "d", fingerprint: "f", layers: ["c0"], strategy: .ga,
                             fitnessImages: "0:60", faultSeeds: [1, 2], configuration: config, runs: 2)
        let (_, good) = try runKeepingCheckpoint(PlanRunner(search: search, strategy: .ga, configuration: config, key: key), copyAt: 4)
        let saved = "saved.json"
        XCTAssertEqual(good.finishedRuns?.count, 1)
        XCTAssertNoThrow(try good.validate(layerSizes: search.layerSizes, runs: 2, file: saved))

        var broken: [(String, PlanCheckpoint)] = []
        var c = good
        c.state.population.removeLast()
        broken.append(("a population of 5", c))
        c = good
        c.state.evaluated[0].chromosome[0][1] = c.state.evaluated[0].chromosome[0][0]
        broken.append(("not a permutation", c))
        c = good
        c.state.generation = 7
        broken.append(("generation 7 of 3", c))
        c = good
        c.state.history.removeLast()
        broken.append(("history does not match", c))
        c = good
        c.state.population[2].fitnessBits = Double.nan.bitPattern
        broken.append(("not a number", c))
        c = good
        c.finishedRuns! += c.finishedRuns!
        broken.append(("2 finished runs of 2", c))
        c = good
        c.finishedRuns![0].state.generation = 1
        c.finishedRuns![0].state.history.removeLast(2)
        broken.append(("GA run 1 is at generation 1 of 3", c))
        c = good
        c.state.configuration.seed = 2
        broken.append(("other GA settings", c))
        c = good
        c.state.layerSizes = [9]
        broken.append(("layers of [9] rows", c))
        c = good
        c.assignEvaluations = Int.max
        broken.append(("assignEvaluations is \(Int.max)", c))
        c = good
        c.elapsedSeconds = -1
        broken.append(("times are negative", c))
        for (problem, checkpoint) in broken {
            XCTAssertThrowsError(try PlanRunner(search: search, strategy: .ga, configuration: config, key: key)
                .run(resume: checkpoint, checkpointFile: saved)) { error in
                let text = String(describing: error)
                XCTAssertTrue(text.hasPrefix(saved + ": not a usable has-plan checkpoint"), text)
                XCTAssertTrue(text.contains(problem), "\(problem): \(text)")
                XCTAssertFalse(text.contains("\n"), text)
            }
        }
    }

    /// A checkpoint edited on disk is refused by its digest before anything in it is used.
    func testEditedCheckpointFilesAreRefused() throws {
        let search = try problem(images: 40)
        let config = GAConfiguration(population: 4, generations: 2, seed: 3)
        let key = PlanRunKey(model: "small-cnn", weightsDigest: "d", fingerprint: "f", layers: ["c0"], strategy: .ga,
                             fitnessImages: "0:40", faultSeeds: [1], configuration: config)
        let (_, good) = try runKeepingCheckpoint(PlanRunner(search: search, strategy: .ga, configuration: config, key: key), copyAt: 1)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("edited-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try good.write(to: file)
        XCTAssertEqual(try PlanCheckpoint.load(from: file), good)
        var text = try String(contentsOfFile: file, encoding: .utf8)
        let field = "\"assignEvaluations\":\(good.assignEvaluations)"
        XCTAssertTrue(text.contains(field), text.prefix(200).description)
        text = text.replacingOccurrences(of: field, with: "\"assignEvaluations\":9223372036854775807")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PlanCheckpoint.load(from: file)) { error in
            XCTAssertEqual(String(describing: error),
                           "\(file): the has-plan checkpoint's digest does not match its contents: it was edited or damaged")
        }
    }
}
