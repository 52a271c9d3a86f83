import HASRuntime
import XCTest
@testable import HASPlanner

/// The one description of what follows a conv layer: what it finds, why it
/// refuses, and that the planner and the sweep report their fallbacks.
final class ConvSuffixTests: XCTestCase {
    func testTheIncrementalShapeIsFound() throws {
        let network = try PlannerTestSupport.smallCNN()
        guard case .success(let suffix) = ConvSuffix.incremental(network, convIndex: 0) else { return XCTFail("not matched") }
        XCTAssertEqual(suffix.conv.name, "c0")
        XCTAssertEqual(suffix.blockEnd, 3)   // conv, ReLU, pool
        XCTAssertEqual(suffix.next, 5)       // after dropout and flatten: h0
        XCTAssertTrue(suffix.flattened)
        XCTAssertEqual(suffix.dense?.layer.name, "h0")
        XCTAssertEqual(suffix.dense?.relu, true)
        XCTAssertEqual(suffix.dense?.tailStart, 7)
        XCTAssertNil(suffix.incrementalProblem)
    }

    func testEachMismatchSaysWhy() throws {
        let noPool = try SweepEvaluatorTests.convReluDense()
        XCTAssertEqual(reason(ConvSuffix.incremental(noPool, convIndex: 0)), "c0's ReLU is not followed by a max pool")
        let noReLU = try SweepEvaluatorTests.convReluDense(relu: false)
        XCTAssertEqual(reason(ConvSuffix.match(noReLU, convIndex: 0)), "c0 is not followed by a ReLU")
        let cnn = try PlannerTestSupport.smallCNN()
        XCTAssertEqual(reason(ConvSuffix.match(cnn, convIndex: 5)), "it is not a conv layer")
    }

    func testPlannerAndSweepReportTheirFallbacks() throws {
        let profile = try PlannerTestSupport.device(kind: .flip1, frMax: 0.02, seed: 1)
        func search(_ network: Network) throws -> PlanSearch {
            let images = PlannerTestSupport.images(8, for: network)
            return try PlanSearch(network: network, profile: profile, layers: ["c0"], images: images,
                                  labels: PlannerTestSupport.labels(network, images), imageIndices: Array(0..<8),
                                  faultSeeds: [1], threads: 1)
        }
        XCTAssertNil(try search(PlannerTestSupport.smallCNN()).fallbackReason)
        let planned = try search(SweepEvaluatorTests.convReluDense())
        XCTAssertFalse(planned.incremental)
        XCTAssertTrue(planned.fallbackReason?.hasPrefix("c0's ReLU is not followed by a max pool") ?? false, "\(planned.fallbackReason ?? "nil")")

        func sweep(_ network: Network, fast: Bool = true) throws -> SweepEvaluator {
            let images = PlannerTestSupport.images(8, for: network)
            return try SweepEvaluator(network: network, images: images, labels: PlannerTestSupport.labels(network, images),
                                      faultyLayers: ["c0"], threads: 1, fast: fast)
        }
        XCTAssertNil(try sweep(SweepEvaluatorTests.convReluDense()).fallbackReason)
        XCTAssertEqual(try sweep(SweepEvaluatorTests.convReluDense(relu: false)).fallbackReason, "c0 is not followed by a ReLU")
        XCTAssertNil(try sweep(SweepEvaluatorTests.convReluDense(relu: false), fast: false).fallbackReason, "asked for")
    }

    private func reason(_ result: Result<ConvSuffix, ConvSuffix.Mismatch>) -> String? {
        if case .failure(let mismatch) = result { return mismatch.reason }
        return nil
    }
}
