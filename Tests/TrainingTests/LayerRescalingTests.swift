import HASRuntime
@testable import HASTraining
import XCTest

/// Rescaling by a power of two moves magnitude between layers without changing
/// a single output bit, and refuses anything that would.
final class LayerRescalingTests: XCTestCase {
    /// conv c0 (1→4, 3×3) → ReLU → maxpool → flatten → dense h0 (36→5) → ReLU → dense op (5→3).
    func smallBundle() -> ModelBundle {
        var rng = SplitMix64(seed: 11)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in rng.nextSignedUnit() } }
        let manifest = Manifest(
            name: "tiny", input: InputSpec(shape: [1, 8, 8], preprocessing: Preprocessing()),
            classes: ["a", "b", "c"],
            layers: [
                LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1], padding: [0, 0, 0, 0]),
                LayerSpec(type: "relu"),
                LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]),
                LayerSpec(type: "flatten"),
                LayerSpec(type: "dense", name: "h0", weight: "h0.weight", bias: "h0.bias"),
                LayerSpec(type: "relu"),
                LayerSpec(type: "dense", name: "op", weight: "op.weight", bias: "op.bias"),
                LayerSpec(type: "softmax"),
            ])
        return ModelBundle(manifest: manifest, tensors: [
            "c0.weight": Tensor(shape: [4, 1, 3, 3], data: values(36)), "c0.bias": Tensor(shape: [4], data: values(4)),
            "h0.weight": Tensor(shape: [5, 36], data: values(180)), "h0.bias": Tensor(shape: [5], data: values(5)),
            "op.weight": Tensor(shape: [3, 5], data: values(15)), "op.bias": Tensor(shape: [3], data: values(3)),
        ])
    }

    func logits(_ bundle: ModelBundle, _ x: Tensor) throws -> Tensor {
        try Network(manifest: bundle.manifest, tensors: bundle.tensors, file: "tiny").logits(x)
    }

    func testPowerOfTwoKeepsEveryOutputBitAndScalesTheLayer() throws {
        let bundle = smallBundle()
        var rng = SplitMix64(seed: 5)
        let x = Tensor(shape: [16, 1, 8, 8], data: (0..<1024).map { _ in rng.nextUnitFloat() })
        let scaled = try LayerRescaling.rescale(bundle, layer: "c0", by: 4, file: "tiny")
        XCTAssertEqual(try logits(scaled, x).data.map(\.bitPattern), try logits(bundle, x).data.map(\.bitPattern))
        XCTAssertEqual(scaled.tensors["c0.weight"]!.data, bundle.tensors["c0.weight"]!.data.map { $0 * 4 })
        XCTAssertEqual(scaled.tensors["c0.bias"]!.data, bundle.tensors["c0.bias"]!.data.map { $0 * 4 })
        XCTAssertEqual(scaled.tensors["h0.weight"]!.data, bundle.tensors["h0.weight"]!.data.map { $0 / 4 })
        XCTAssertEqual(scaled.tensors["op.weight"], bundle.tensors["op.weight"])
        XCTAssertEqual(scaled.manifest.provenance?.rescaling, ["c0 x4, h0 /4"])
        // A dense layer followed by ReLU is homogeneous too.
        let dense = try LayerRescaling.rescale(bundle, layer: "h0", by: 0.5, file: "tiny")
        XCTAssertEqual(try logits(dense, x).data.map(\.bitPattern), try logits(bundle, x).data.map(\.bitPattern))
    }

    func testRefusesWhatWouldChangeTheFunction() {
        let bundle = smallBundle()
        XCTAssertThrowsError(try LayerRescaling.rescale(bundle, layer: "c0", by: 3, file: "tiny")) { error in
            XCTAssertTrue("\(error)".contains("power of two"), "\(error)")
        }
        XCTAssertThrowsError(try LayerRescaling.rescale(bundle, layer: "c0", by: -2, file: "tiny"))
        XCTAssertThrowsError(try LayerRescaling.rescale(bundle, layer: "op", by: 2, file: "tiny")) { error in
            XCTAssertTrue("\(error)".contains("last weighted layer"), "\(error)")
        }
        XCTAssertThrowsError(try LayerRescaling.rescale(bundle, layer: "h9", by: 2, file: "tiny"))
        XCTAssertThrowsError(try LayerRescaling.rescale(bundle, layer: "c0", by: 0x1p127, file: "tiny")) { error in
            XCTAssertTrue("\(error)".contains("not be exact"), "\(error)")
        }
    }
}
