import HASDiagnosis
import HASRuntime
import HASTestSupport
import XCTest

/// Same seed → bit-identical results whatever the batch size or thread count.
/// (The planner's evaluator is checked against full passes in PlannerTests.)
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
}
