@testable import HASPlanner
import HASRuntime
import XCTest

final class PositionCostMatrixTests: XCTestCase {
    let network = try! PlannerTestSupport.smallCNN(channels: 2, padding: 1)

    func data(_ count: Int) -> (Tensor, [Int]) {
        let images = PlannerTestSupport.images(count, for: network)
        return (images, PlannerTestSupport.labels(network, images))
    }

    func testScoresGiveTheEvaluatorsPredictionsAndASmoothLoss() throws {
        let (images, labels) = data(120)
        let profile = try PlannerTestSupport.device(kind: .flip1, frMax: 0.05, seed: 7)
        let evaluator = try FaultyEvaluator(network: network, images: images, labels: labels, profile: profile,
                                            faultyLayers: ["c0", "h0"], threads: 2)
        let scores = evaluator.scores(seed: 4)
        XCTAssertEqual(Activations.argmax(scores), evaluator.evaluate(seed: 4).predictions[0])
        let clean = FaultyEvaluation.labelProbability(evaluator.cleanScores, labels)
        let faulty = FaultyEvaluation.labelProbability(scores, labels)
        XCTAssertTrue((0...1).contains(clean) && (0...1).contains(faulty))
        XCTAssertGreaterThan(clean, faulty)
        // An all-NaN row counts as probability 0, a sure right answer as 1.
        let odd = Tensor(shape: [2, 2], data: [.nan, .nan, 0, 100])
        XCTAssertEqual(FaultyEvaluation.labelProbability(odd, [0, 1]), 0.5, accuracy: 1e-12)
    }

    func testMatrixIsolatesPositionsAndDoesNotDependOnThreads() throws {
        let (images, labels) = data(100)
        var profile = try PlannerTestSupport.device(kind: .flip1, frMax: 0.05, seed: 7)
        var rates = profile.rates
        for s in rates.indices { rates[s][3] = 0 }
        profile = try FaultProfile(geometry: profile.geometry, tiling: profile.tiling, kind: profile.kind,
                                   exponentBits: profile.exponentBits, rates: rates, origin: profile.origin)
        let layer = try network.deviceLayers(named: ["c0"])[0]
        XCTAssertTrue(PositionCostMatrix.applies(to: layer, on: profile))
        let matrices = try [1, 2].map { threads in
            try PositionCostMatrix.measure(network: network, profile: profile, layer: layer, images: images, labels: labels,
                                           imageIndices: Array(0..<100), seeds: [1, 2], threads: threads)
        }
        XCTAssertEqual(matrices[0], matrices[1])
        let m = matrices[0]
        XCTAssertEqual(m.count, 8)
        for row in 0..<8 { XCTAssertEqual(m[row][3], 0, "position 3 has no faulty PE") }
        XCTAssertGreaterThan(m.joined().max()!, 0, "the device must cost something for this test to mean anything")
        let h0 = try network.deviceLayers(named: ["h0"])[0]
        XCTAssertFalse(PositionCostMatrix.applies(to: h0, on: profile), "40 rows on 8 threads")
    }

    func testIncrementalEvaluatorReadsOffTheSameMatrix() throws {
        // Two independent computations of cost[row][position]: the incremental evaluator's precomputed
        // effects (sparse dense update) and full passes with one thread's PEs faulty.
        let (images, labels) = data(150)
        let profile = try PlannerTestSupport.device(kind: .flip1, frMax: 0.05, seed: 7)
        let layer = try network.deviceLayers(named: ["c0"])[0]
        let fast = try XCTUnwrap(IncrementalConvEvaluator(network: network, profile: profile, layer: "c0", images: images,
                                                          labels: labels, imageIndices: Array(0..<150), seeds: [1, 2], threads: 2))
        let read = fast.pairCosts(seeds: [1, 2])
        // And a third: the sparse conv path (the default for this layer shape).
        let passes = try PositionCostMatrix.measure(network: network, profile: profile, layer: layer, images: images,
                                                    labels: labels, imageIndices: Array(0..<150), seeds: [1, 2], threads: 2,
                                                    fullPasses: true)
        let sparse = try PositionCostMatrix.measure(network: network, profile: profile, layer: layer, images: images,
                                                    labels: labels, imageIndices: Array(0..<150), seeds: [1, 2], threads: 2)
        XCTAssertGreaterThan(passes.joined().max()!, 0.001, "the device must cost something for this test to mean anything")
        for row in 0..<8 {
            for position in 0..<8 {
                XCTAssertEqual(read[row][position], passes[row][position], accuracy: 1e-5)
                XCTAssertEqual(sparse[row][position], passes[row][position], accuracy: 1e-5)
            }
        }
    }

    func testConvBeforeConvPathEqualsFullPasses() throws {
        // fashion-cnn's c0 in miniature: its faults reach c1 as a one-channel convolution per row.
        let net = try SweepEvaluatorTests.twoConvNet()
        let images = PlannerTestSupport.images(120, for: net), labels = PlannerTestSupport.labels(net, images)
        let profile = try PlannerTestSupport.device(kind: .bitflip, frMax: 0.2, seed: 5)
        let layer = try net.deviceLayers(named: ["c0"])[0]
        func measure(full: Bool, threads: Int) throws -> [[Double]] {
            try PositionCostMatrix.measure(network: net, profile: profile, layer: layer, images: images, labels: labels,
                                           imageIndices: Array(0..<120), seeds: [1, 2], threads: threads, fullPasses: full)
        }
        let passes = try measure(full: true, threads: 2)
        XCTAssertNotNil(try PositionCostMatrix.measureConvBeforeConv(network: net, profile: profile, layer: layer, images: images,
                                                                     labels: labels, imageIndices: Array(0..<120), seeds: [1],
                                                                     threads: 1), "the sparse path applies to this shape")
        let sparse = try measure(full: false, threads: 2)
        XCTAssertEqual(sparse, try measure(full: false, threads: 1))
        XCTAssertGreaterThan(passes.joined().max()!, 0.001, "the device must cost something for this test to mean anything")
        for row in 0..<6 {
            for position in 0..<6 { XCTAssertEqual(sparse[row][position], passes[row][position], accuracy: 1e-5) }
        }
        // c1 is followed by pool and dense, not by a conv: the dense path, not this one.
        let c1 = try net.deviceLayers(named: ["c1"])[0]
        XCTAssertNil(try PositionCostMatrix.measureConvBeforeConv(network: net, profile: profile, layer: c1, images: images,
                                                                  labels: labels, imageIndices: Array(0..<120), seeds: [1], threads: 1))
    }

    func testMatrixWithAnUpstreamLayerFaultyEqualsFullPasses() throws {
        // fashion-cnn's c1 measured with c0 faulty under c0's plan, in the same draws.
        let net = try SweepEvaluatorTests.twoConvNet()
        let images = PlannerTestSupport.images(120, for: net), labels = PlannerTestSupport.labels(net, images)
        let profile = try PlannerTestSupport.device(kind: .bitflip, frMax: 0.2, seed: 5)
        let c1 = try net.deviceLayers(named: ["c1"])[0]
        let upstream: [String: [Int32]] = ["c0": [3, 0, 5, 1, 4, 2]]
        func measure(upstream: [String: [Int32]], full: Bool, threads: Int = 2) throws -> [[Double]] {
            try PositionCostMatrix.measure(network: net, profile: profile, layer: c1, images: images, labels: labels,
                                           imageIndices: Array(0..<120), seeds: [1, 2], threads: threads, upstream: upstream,
                                           fullPasses: full)
        }
        let passes = try measure(upstream: upstream, full: true)
        let sparse = try measure(upstream: upstream, full: false)
        XCTAssertEqual(sparse, try measure(upstream: upstream, full: false, threads: 1))
        XCTAssertGreaterThan(passes.joined().max()!, 0.001, "the device must cost something for this test to mean anything")
        let rows = c1.shape.m
        for row in 0..<rows {
            for position in 0..<rows { XCTAssertEqual(sparse[row][position], passes[row][position], accuracy: 1e-5) }
        }
        // Upstream errors change what c1's errors cost: the measurement must see them.
        let alone = try measure(upstream: [:], full: false)
        let change = zip(alone.joined(), sparse.joined()).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(change, 1e-3)
    }

    func testTwoLayerAssignmentAndHybridBeatTheUnshuffledSchedule() throws {
        let (images, labels) = data(200)
        let profile = try PlannerTestSupport.device(kind: .bitflip, frMax: 0.3, seed: 11)
        let search = try PlanSearch(network: network, profile: profile, layers: ["c0", "h0"], images: images, labels: labels,
                                    imageIndices: Array(0..<200), faultSeeds: [1], threads: 2)
        XCTAssertFalse(search.incremental)
        let faulty = search.fitness(search.identity)
        XCTAssertLessThan(faulty, 0.95, "the device must cost accuracy for this test to mean anything")
        let a = try search.assign()
        XCTAssertNotNil(a.matrices[0])
        XCTAssertTrue(a.levels[0].isEmpty, "c0 is matched by its cost matrix")
        XCTAssertEqual(a.fitness, search.fitness(a.chromosome))
        XCTAssertGreaterThan(a.fitness, faulty)
        XCTAssertGreaterThan(a.evaluationEquivalents, 1)

        let config = GAConfiguration(population: 6, generations: 2, seed: 2)
        let key = PlanRunKey(model: "small-cnn", weightsDigest: "d", fingerprint: "f", layers: ["c0", "h0"], strategy: .hybrid,
                             fitnessImages: "0:200", faultSeeds: [1], configuration: config)
        let runner = PlanRunner(search: search, strategy: .hybrid, configuration: config, key: key)
        runner.climbBudget = 10
        let result = try runner.run()
        XCTAssertEqual(result.convergence.first?.step, "assign")
        XCTAssertEqual(result.convergence.first?.best, a.fitness)
        XCTAssertGreaterThanOrEqual(result.fitness, a.fitness)
        XCTAssertEqual(result.fitness, search.fitness(result.chromosome))
        XCTAssertEqual(result.convergence.map(\.best), result.convergence.map(\.best).sorted(), "best fitness never falls")
    }
}
