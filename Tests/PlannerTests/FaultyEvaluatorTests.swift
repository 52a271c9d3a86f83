import HASDiagnosis
import HASPlanner
import HASRuntime
import XCTest

/// The planner's evaluator gives what full faulty forward passes (has-run --device) give:
/// bit for bit without incremental mode, prediction for prediction up to rounding ties with it.
final class FaultyEvaluatorTests: XCTestCase {
    func testEvaluatorMatchesFullForwardPasses() throws {
        let network = try PlannerTestSupport.smallCNN()
        let images = PlannerTestSupport.images(150, for: network)
        let profile = try FaultProfile.synthetic(kind: .flip1, frMax: 5e-3, seed: 1)
        // Labels: the clean predictions, so that clean accuracy is 1 and faults cost something.
        let labels = PlannerTestSupport.labels(network, images)
        let indices = Array(5120..<5270)
        for layers in [["c0"], ["h0", "op"], nil] {
            var accuracies: [[Double]] = []
            var scores: [[UInt32]] = []
            for threads in [1, 2] {
                let evaluator = try FaultyEvaluator(network: network, images: images, labels: labels, imageIndices: indices,
                                                    profile: profile, faultyLayers: layers, threads: threads, chunkSize: 32,
                                                    incremental: false)
                XCTAssertEqual(evaluator.cleanAccuracy, 1)
                let result = evaluator.evaluate(seed: 40, trials: 2)
                accuracies.append(result.accuracies)
                scores.append((evaluator.scores(seed: 40).data + evaluator.scores(seed: 41).data).map(\.bitPattern))
                for trial in 0..<2 {
                    let injector = try FaultInjector(network: network, profile: profile, faultyLayers: layers,
                                                     seed: FaultKeys.trialSeed(40, trial: trial))
                    var options = injector.options()
                    options.firstImageIndex = 5120
                    XCTAssertEqual(result.predictions[trial], network.predict(images, options: options), "\(layers ?? ["all"])")
                }
            }
            XCTAssertEqual(accuracies[0], accuracies[1])
            XCTAssertEqual(scores[0], scores[1], "scores do not depend on the thread count")
            let half = scores[0].count / 2
            XCTAssertNotEqual(scores[0][..<half], scores[0][half...], "seeds 40 and 41 draw different faults")
        }
    }

    /// Incremental evaluation (deltas through the first clean dense layer) predicts what full passes predict.
    func testIncrementalEvaluationAgreesWithFullPasses() throws {
        let network = try PlannerTestSupport.smallCNN()
        let images = PlannerTestSupport.images(200, for: network)
        let labels = PlannerTestSupport.labels(network, images)
        for (kind, rate) in [(ErrorKind.flip1, 5e-3), (.bitflip, 2e-2), (.tf32, 0.5)] {
            let profile = try FaultProfile.synthetic(kind: kind, frMax: rate, seed: 8)
            let exact = try FaultyEvaluator(network: network, images: images, labels: labels, profile: profile,
                                            faultyLayers: ["c0"], incremental: false)
            let fast = try FaultyEvaluator(network: network, images: images, labels: labels, profile: profile,
                                           faultyLayers: ["c0"], threads: 1, chunkSize: 50)
            let a = exact.evaluate(seed: 3, trials: 2), b = fast.evaluate(seed: 3, trials: 2)
            for trial in 0..<2 {
                let agree = zip(a.predictions[trial], b.predictions[trial]).filter { $0 == $1 }.count
                XCTAssertGreaterThanOrEqual(agree, 199, "\(kind)")
            }
            XCTAssertEqual(fast.cleanAccuracy, 1)
            if kind == .bitflip { XCTAssertLessThan(a.mean, 1, "the faults must cost something") }
        }
    }
}
