import HASRuntime
import HASTestSupport
import XCTest

/// Same seed → bit-identical results whatever the batch size or thread count,
/// and the evaluator gives what a full faulty forward pass gives.
final class ReproducibilityTests: XCTestCase {
    func logits(_ network: Network, _ images: Tensor, injector: FaultInjector?, batch: Int, threads: Int,
                firstImage: Int = 0) -> [UInt32] {
        var bits: [UInt32] = []
        let n = images.shape[0]
        for start in stride(from: 0, to: n, by: batch) {
            let x = try! TensorImageSource(images).batch(start..<min(n, start + batch))
            var options = ForwardOptions(threads: threads)
            options.firstImageIndex = firstImage + start
            injector?.threads = threads
            if let injector { options = injector.options(options) }
            bits += network.logits(x, options: options).data.map(\.bitPattern)
        }
        return bits
    }

    func testBatchSizesAndThreadsGiveIdenticalResults() throws {
        let network = try TestNetworks.mnist32()
        let images = TestNetworks.images(260, for: network)
        let profile = try FaultProfile.synthetic(kind: .bitflip, frMax: 5e-3, seed: 3987)
        let injector = try FaultInjector(network: network, profile: profile, seed: 9)
        let base = logits(network, images, injector: injector, batch: 256, threads: 2)
        let clean = logits(network, images, injector: nil, batch: 256, threads: 2)
        XCTAssertNotEqual(base, clean, "the faults must change something")
        for (batch, threads) in [(1, 1), (7, 2), (7, 1), (256, 1), (1, 2)] {
            XCTAssertEqual(logits(network, images, injector: injector, batch: batch, threads: threads), base,
                           "batch \(batch), \(threads) threads")
        }
    }

    func testEvaluatorMatchesFullForwardPasses() throws {
        let network = try TestNetworks.mnist32()
        let images = TestNetworks.images(150, for: network)
        let profile = try FaultProfile.synthetic(kind: .flip1, frMax: 5e-3, seed: 1)
        // Labels: the clean predictions, so that clean accuracy is 1 and faults cost something.
        let labels = network.predict(images)
        let indices = Array(5120..<5270)
        for layers in [["c0"], ["h2", "op"], nil] {
            var accuracies: [[Double]] = []
            for threads in [1, 2] {
                let evaluator = try FaultyEvaluator(network: network, images: images, labels: labels, imageIndices: indices,
                                                    profile: profile, faultyLayers: layers, threads: threads, chunkSize: 32,
                                                    incremental: false)
                XCTAssertEqual(evaluator.cleanAccuracy, 1)
                let result = evaluator.evaluate(seed: 40, trials: 2)
                accuracies.append(result.accuracies)
                for trial in 0..<2 {
                    let injector = try FaultInjector(network: network, profile: profile, faultyLayers: layers,
                                                     seed: FaultKeys.trialSeed(40, trial: trial))
                    var options = injector.options()
                    options.firstImageIndex = 5120
                    XCTAssertEqual(result.predictions[trial], network.predict(images, options: options), "\(layers ?? ["all"])")
                }
            }
            XCTAssertEqual(accuracies[0], accuracies[1])
            XCTAssertNotEqual(accuracies[0][0], accuracies[0][1], "trials draw different faults")
        }
    }

    /// Incremental evaluation (deltas through the first clean dense layer) predicts what full passes predict.
    func testIncrementalEvaluationAgreesWithFullPasses() throws {
        let network = try TestNetworks.mnist32()
        let images = TestNetworks.images(200, for: network)
        let labels = network.predict(images)
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
