import HASRuntime
@testable import HASTraining
import XCTest

/// Small end-to-end runs of the trainer on real MNIST images.
final class TrainingRunTests: XCTestCase {
    /// A small network on 28×28 inputs with every layer type the models use.
    static let tiny = ModelArchitecture(
        name: "tiny-cnn",
        input: InputSpec(shape: [1, 28, 28], preprocessing: Preprocessing(scale: 1.0 / 255.0, offset: 0, resize: "none")),
        classes: (0..<10).map(String.init),
        layers: [
            .conv2d(name: "c0", outChannels: 8, kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1]), .relu,
            .maxPool2d(kernel: [2, 2], stride: [2, 2]), .dropout(rate: 0.1), .flatten,
            .dense(name: "h0", outFeatures: 32), .relu,
            .dense(name: "op", outFeatures: 10), .softmax,
        ])

    /// Every 4th image of the class-sorted 5k training file: 1,250 images, 125 per class.
    func mnistSubset() throws -> LabeledImages {
        let hint = "the MNIST files ship in ../shared/datasets/mnist beside the package"
        let images = try IDXImages.read(path: TestData.require(TestData.mnist, "train-5k-images-idx3-ubyte.gz", hint: hint))
        let labels = try IDXLabels.read(path: TestData.require(TestData.mnist, "train-5k-labels-idx1-ubyte.gz", hint: hint))
        return LabeledImages(images: images, labels: labels.labels.map(Int.init)).subset(Array(stride(from: 0, to: 5000, by: 4)))
    }

    func options(epochs: Int, threads: Int, augmentation: Augmentation? = nil) -> TrainingOptions {
        TrainingOptions(architecture: Self.tiny, epochs: epochs, seed: 42, optimizer: .adam, learningRate: 3e-3,
                        schedule: .cosine, batchSize: 32, validationFraction: 0.2, augmentation: augmentation,
                        threads: threads)
    }

    /// Loss falls and the held-out 250 images reach 85% after 4 epochs on 1,000.
    func testTinyRunLearns() throws {
        let result = try Trainer.train(mnistSubset(), options: options(epochs: 4, threads: 2))
        XCTAssertEqual(result.trainingCount, 1000)
        XCTAssertEqual(result.validationCount, 250)
        let losses = result.history.map(\.loss)
        XCTAssertLessThan(losses.last!, losses.first! * 0.5, "losses \(losses)")
        XCTAssertGreaterThanOrEqual(result.validationAccuracy!, 0.85)
        // The kept epoch is the first with the best validation accuracy.
        let best = result.history.max { ($0.validationAccuracy!, -$0.epoch) < ($1.validationAccuracy!, -$1.epoch) }!
        XCTAssertEqual(result.bestEpoch, best.epoch)
        // The kept weights are that epoch's: evaluating them again gives its numbers.
        let split = ValidationSplit(labels: try mnistSubset().labels, fraction: 0.2, seed: 42)
        let again = try Trainer.evaluate(result.network, on: try mnistSubset().subset(split.validation), threads: 2)
        XCTAssertEqual(again.accuracy, best.validationAccuracy!)
        XCTAssertEqual(again.loss, best.validationLoss!, accuracy: 1e-9)
    }

    /// Same seed → bit-identical weights, with 1 or 2 threads, through
    /// augmentation, dropout, shuffling and the split; another seed differs.
    func testSameSeedGivesIdenticalWeightsForAnyThreadCount() throws {
        let data = try mnistSubset().subset(Array(0..<400))
        let one = try Trainer.train(data, options: options(epochs: 2, threads: 1, augmentation: .mnist))
        let two = try Trainer.train(data, options: options(epochs: 2, threads: 2, augmentation: .mnist))
        XCTAssertEqual(one.network.tensors, two.network.tensors)
        var other = options(epochs: 2, threads: 2, augmentation: .mnist)
        other.seed = 43
        XCTAssertNotEqual(try Trainer.train(data, options: other).network.tensors, one.network.tensors)
    }

    func testSGDWithMomentumLearns() throws {
        var sgd = options(epochs: 3, threads: 2)
        sgd.optimizer = .sgd(momentum: 0.9)
        sgd.learningRate = 0.05
        let result = try Trainer.train(mnistSubset(), options: sgd)
        XCTAssertGreaterThanOrEqual(result.validationAccuracy!, 0.80)
    }

    func testAugmentationIsSmallAndKeyedBySeedEpochAndImage() throws {
        let data = try mnistSubset()
        let size = 28 * 28
        let source = Array(data.images.pixels[0..<size])
        func distorted(seed: UInt64, epoch: Int, image: Int) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: size)
            var rng = Augmentation.generator(seed: seed, epoch: epoch, image: image)
            source.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { Augmentation.mnist.apply(s.baseAddress!, height: 28, width: 28,
                                                                               into: $0.baseAddress!, random: &rng) }
            }
            return out
        }
        let a = distorted(seed: 1, epoch: 1, image: 0)
        XCTAssertEqual(a, distorted(seed: 1, epoch: 1, image: 0))
        XCTAssertNotEqual(a, distorted(seed: 1, epoch: 2, image: 0))
        XCTAssertNotEqual(a, distorted(seed: 2, epoch: 1, image: 0))
        XCTAssertNotEqual(a, source)
        // Small distortions keep the ink: total intensity within 30%.
        let ink = { (p: [UInt8]) in Double(p.reduce(0) { $0 + Int($1) }) }
        XCTAssertEqual(ink(a) / ink(source), 1, accuracy: 0.3)
        // No distortion at all is the identity.
        var rng = SplitMix64(seed: 0)
        var same = [UInt8](repeating: 0, count: size)
        source.withUnsafeBufferPointer { s in
            same.withUnsafeMutableBufferPointer {
                Augmentation(maxShift: 0, maxRotationDegrees: 0, maxScaleChange: 0)
                    .apply(s.baseAddress!, height: 28, width: 28, into: $0.baseAddress!, random: &rng)
            }
        }
        XCTAssertEqual(same, source)
    }

    func testValidationSplitIsStratifiedDisjointAndSeeded() {
        let labels = (0..<1000).map { $0 % 10 }
        let split = ValidationSplit(labels: labels, fraction: 0.1, seed: 3)
        XCTAssertEqual(split.validation.count, 100)
        XCTAssertEqual(Set(split.training).union(split.validation), Set(0..<1000))
        XCTAssertTrue(Set(split.training).isDisjoint(with: split.validation))
        for c in 0..<10 { XCTAssertEqual(split.validation.filter { labels[$0] == c }.count, 10) }
        XCTAssertEqual(split, ValidationSplit(labels: labels, fraction: 0.1, seed: 3))
        XCTAssertNotEqual(split, ValidationSplit(labels: labels, fraction: 0.1, seed: 4))
    }

    /// A trained network written as a bundle loads back with the same weights and manifest.
    func testBundleRoundTripWithProvenance() throws {
        let network = TrainableNetwork(architecture: Self.tiny, seed: 1)
        let provenance = Provenance(dataset: "MNIST", seed: 1, epochs: 2, optimizer: "adam", batchSize: 32,
                                    augmentation: "none", validationAccuracy: 0.5, commandLine: "has-train --epochs 2")
        let path = NSTemporaryDirectory() + "tiny-\(getpid()).zip"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try network.bundle(provenance: provenance).write(to: path)
        let loaded = try ModelBundle.load(from: path)
        XCTAssertEqual(loaded.tensors, network.tensors)
        XCTAssertEqual(loaded.manifest.provenance, provenance)
        XCTAssertEqual(loaded.manifest.layers, network.layerSpecs)
    }
}
