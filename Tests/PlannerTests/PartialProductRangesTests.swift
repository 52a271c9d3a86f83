import HASPlanner
import HASRuntime
import HASTestSupport
import XCTest

/// `PartialProductRanges` on a network whose partial products are known by hand.
final class PartialProductRangesTests: XCTestCase {
    func testKnownPartialProducts() throws {
        // h0: row 0 all 0.5, row 1 all 0.01 over 64 inputs of 1 → per 32-wide tile P = 16 and 0.32.
        // op: 10 rows of 1 over ReLU(h0) = [32, 0.64] → P = 32.64 (one tile of 2).
        let tensors = ["h0.weight": Tensor(shape: [2, 64], data: [Float](repeating: 0.5, count: 64) + [Float](repeating: 0.01, count: 64)),
                       "h0.bias": Tensor(shape: [2], data: [0, 0]),
                       "op.weight": Tensor(shape: [10, 2], data: [Float](repeating: 1, count: 20)),
                       "op.bias": Tensor(shape: [10], data: [Float](repeating: 0, count: 10))]
        let network = try TestNetworks.network(input: [1, 8, 8], layers: [LayerSpec(type: "flatten"), TestNetworks.dense("h0"),
                                                                        LayerSpec(type: "relu"), TestNetworks.dense("op")],
                                               tensors: tensors, classes: 10)
        let images = 3
        let x = Tensor(shape: [images, 1, 8, 8], data: [Float](repeating: 1, count: images * 64))
        let ranges = PartialProductRanges(network: network, input: x, threads: 2)
        XCTAssertEqual(ranges.layers.map(\.name), ["h0", "op"])
        let h0 = ranges.layers[0], op = ranges.layers[1]
        XCTAssertEqual(h0.tileK, 32)
        XCTAssertEqual(h0.weightMaxAbs, 0.5)
        XCTAssertEqual(h0.products, images * 2 * 2)
        XCTAssertEqual(h0.atLeastTwo, images * 2)
        XCTAssertEqual(h0.shareAtLeastTwo, 0.5)
        XCTAssertEqual(h0.maxAbs, 16)
        // Quantiles are bin edges, 1/16 binade above the value.
        XCTAssertGreaterThanOrEqual(h0.median, 0.32)
        XCTAssertLessThanOrEqual(h0.median, 0.32 * 1.07)
        XCTAssertGreaterThanOrEqual(h0.p99, 16)
        XCTAssertEqual(op.products, images * 10)
        XCTAssertEqual(op.shareAtLeastTwo, 1)
        XCTAssertEqual(op.maxAbs, 32.64, accuracy: 1e-4)
    }
}
