import HASRuntime
import XCTest
@testable import HASPlanner

/// The fast fitness must give the simulator's answers (`FaultyEvaluator`, the
/// full faulty forward pass) for any permutation and seed.
final class IncrementalEvaluatorTests: XCTestCase {
    func check(channels: Int, padding: Int, kind: ErrorKind, frMax: Double, tiling: FaultProfile.Tiling = .init(),
               count: Int = 300, mustDegrade: Bool = true) throws {
        let network = try PlannerTestSupport.smallCNN(channels: channels, padding: padding)
        let images = PlannerTestSupport.images(count, for: network)
        let labels = PlannerTestSupport.labels(network, images)
        let profile = try PlannerTestSupport.device(kind: kind, frMax: frMax, seed: 5, tiling: tiling)
        let indices = (0..<count).map { 1000 + 3 * $0 }  // a subset of a larger data set
        let seeds: [UInt64] = [11, 12]
        let full = try FaultyEvaluator(network: network, images: images, labels: labels, imageIndices: indices,
                                       profile: profile, faultyLayers: ["c0"], threads: 2)
        let fast = try XCTUnwrap(IncrementalConvEvaluator(network: network, profile: profile, layer: "c0", images: images,
                                                          labels: labels, imageIndices: indices, seeds: seeds, threads: 2))
        XCTAssertEqual(fast.cleanAccuracy, 1)
        XCTAssertGreaterThan(fast.meanFaultsPerImage, 1)
        var rng = SplitMix64(seed: 3)
        var agree = 0, total = 0, degraded = false
        for trial in 0..<4 {
            let perm = trial == 0 ? Permutations.identity(8) : Permutations.random(8, using: &rng)
            for seed in seeds {
                let reference = full.evaluate(permutations: ["c0": perm], seed: seed, trials: 1).predictions[0]
                fast.exactDense = true
                XCTAssertEqual(fast.predictions(permutation: perm, seed: seed), reference, "exact mode, trial \(trial) seed \(seed)")
                fast.exactDense = false
                fast.certifies = false
                let uncertified = fast.predictions(permutation: perm, seed: seed)
                fast.certifies = true
                let sparse = fast.predictions(permutation: perm, seed: seed)
                XCTAssertEqual(sparse, uncertified, "certified images keep their predictions, trial \(trial) seed \(seed)")
                agree += zip(sparse, reference).filter { $0 == $1 }.count
                total += reference.count
                if zip(reference, labels).contains(where: { $0 != $1 }) { degraded = true }
            }
        }
        if mustDegrade {
            XCTAssertTrue(degraded, "the device should cost some accuracy, or the comparison proves little")
            XCTAssertGreaterThan(fast.certifiedImages, 0, "some changed images should be certified")
        }
        XCTAssertGreaterThanOrEqual(Double(agree) / Double(total), 0.995)
    }

    func testFlip1SingleTile() throws { try check(channels: 1, padding: 0, kind: .flip1, frMax: 0.05) }
    func testBitflipPaddedTwoTiles() throws { try check(channels: 2, padding: 1, kind: .bitflip, frMax: 0.05) }
    /// Kinds that rarely change a prediction, at rates where most partial products fail.
    func testFlip0AndTF32ManyFaults() throws {
        try check(channels: 1, padding: 1, kind: .flip0, frMax: 0.5, count: 40, mustDegrade: false)
        try check(channels: 3, padding: 0, kind: .tf32, frMax: 0.5, tiling: .init(convTileK: 4), count: 40, mustDegrade: false)
    }

    func testShapesItCannotHandleAreRefused() throws {
        let network = try PlannerTestSupport.smallCNN()
        let images = PlannerTestSupport.images(4, for: network)
        let profile = try PlannerTestSupport.device(kind: .flip1, frMax: 0.01, seed: 1)
        XCTAssertNil(try IncrementalConvEvaluator(network: network, profile: profile, layer: "h0", images: images,
                                                  labels: [0, 0, 0, 0], seeds: [1]))
        XCTAssertThrowsError(try IncrementalConvEvaluator(network: network, profile: profile, layer: "nope", images: images,
                                                          labels: [0, 0, 0, 0], seeds: [1]))
    }
}
