import HASRuntime
import XCTest

/// The bundles in Models/ reach their floors on the full official test sets,
/// classified through the runtime exactly as has-run does.
final class ShippedModelTests: XCTestCase {
    func accuracy(model name: String, images: String, labels: String) throws -> (Double, Int, Manifest) {
        let path = TestData.model(name)
        let bundle = try ModelBundle.load(from: path)
        let network = try Network(manifest: bundle.manifest, tensors: bundle.tensors, file: path)
        let set = try ImageSet.open(images: images, labels: labels, limit: nil, input: bundle.manifest.input,
                                    model: network.name, classCount: network.classes.count)
        let result = try Classifier(network: network, batchSize: 256).classify(set.source)
        return (result.accuracy(labels: set.labels!), set.source.count, bundle.manifest)
    }

    func testMNIST32CNNReaches98PercentOnTheOfficialTestSet() throws {
        let hint = "the MNIST files ship in ../shared/datasets/mnist beside the package"
        let (accuracy, count, manifest) = try accuracy(
            model: "mnist32-cnn",
            images: TestData.require(TestData.mnist, "t10k-images-idx3-ubyte.gz", hint: hint),
            labels: TestData.require(TestData.mnist, "t10k-labels-idx1-ubyte.gz", hint: hint))
        XCTAssertEqual(count, 10_000)
        XCTAssertGreaterThanOrEqual(accuracy, 0.980)
        XCTAssertEqual(manifest.layers.compactMap(\.name), ["c0", "h0", "h1", "h2", "op"])
        // The manifest's own record agrees with what the runtime measures.
        XCTAssertEqual(manifest.provenance?.testAccuracy ?? -1, accuracy, accuracy: 1e-9)
        XCTAssertEqual(manifest.provenance?.datasetFiles?["train-5k-images-idx3-ubyte.gz"]?.count, 64)
        // Shipped in the paper's c0 scale (docs/training.md); the rescaling keeps outputs bit-identical.
        XCTAssertEqual(manifest.provenance?.rescaling, ["c0 x2, h0 /2"])
    }

    func testFashionCNNReaches91PercentOnTheOfficialTestSet() throws {
        let hint = "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"
        let (accuracy, count, manifest) = try accuracy(
            model: "fashion-cnn",
            images: TestData.require(TestData.fashion, "t10k-images-idx3-ubyte.gz", hint: hint),
            labels: TestData.require(TestData.fashion, "t10k-labels-idx1-ubyte.gz", hint: hint))
        XCTAssertEqual(count, 10_000)
        XCTAssertGreaterThanOrEqual(accuracy, 0.910)
        XCTAssertEqual(manifest.layers.compactMap(\.name), ["c0", "c1", "h0", "op"])
        XCTAssertEqual(manifest.layers.compactMap(\.rate), [0.3, 0.3, 0.3])
        XCTAssertEqual(manifest.provenance?.testAccuracy ?? -1, accuracy, accuracy: 1e-9)
    }
}
