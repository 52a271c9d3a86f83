import HASRuntime
@testable import HASTraining
import XCTest

/// Every layer's backward pass against finite differences of its forward pass.
final class LayerGradientTests: XCTestCase {
    func batch(_ c: Int, _ n: Int, _ h: Int, _ w: Int, seed: UInt64) -> BatchTensor {
        BatchTensor(channels: c, count: n, height: h, width: w, data: GradientCheck.random(c * n * h * w, seed: seed))
    }

    func conv(inputShape: [Int], out: Int, kernel: (Int, Int), stride: (Int, Int), padding: [Int]) -> TrainableConv2D {
        let k = inputShape[0] * kernel.0 * kernel.1
        return TrainableConv2D(name: "c", inputShape: inputShape, outChannels: out, kernel: kernel, stride: stride,
                               padding: padding, weight: GradientCheck.random(out * k, seed: 3, scale: 0.5),
                               bias: GradientCheck.random(out, seed: 4, scale: 0.1))
    }

    func testConvWithAsymmetricPaddingAndStride() {
        let layer = conv(inputShape: [2, 7, 6], out: 3, kernel: (3, 2), stride: (2, 1), padding: [1, 0, 2, 1])
        GradientCheck().check(layer, input: batch(2, 3, 7, 6, seed: 1))
    }

    func testConvSamePaddingAsFashionCNN() {
        let layer = conv(inputShape: [3, 6, 6], out: 2, kernel: (4, 4), stride: (1, 1), padding: [1, 1, 2, 2])
        GradientCheck().check(layer, input: batch(3, 2, 6, 6, seed: 2))
    }

    func testConvStride2Valid() {
        let layer = conv(inputShape: [1, 9, 8], out: 4, kernel: (3, 3), stride: (2, 3), padding: [0, 0, 0, 0])
        GradientCheck().check(layer, input: batch(1, 2, 9, 8, seed: 5))
    }

    func testDense() {
        let layer = TrainableDense(name: "h", inFeatures: 7, outFeatures: 5,
                                   weight: GradientCheck.random(35, seed: 6, scale: 0.5),
                                   bias: GradientCheck.random(5, seed: 7, scale: 0.1))
        GradientCheck().check(layer, input: batch(7, 4, 1, 1, seed: 8))
    }

    /// Distinct values at least 0.05 apart (well over 2ε), so no max changes under perturbation.
    func spreadOut(_ c: Int, _ n: Int, _ h: Int, _ w: Int, seed: UInt64) -> BatchTensor {
        var values = (0..<(c * n * h * w)).map { Float($0) * 0.05 - 1 }
        var rng = SplitMix64(seed: seed)
        shuffle(&values, with: &rng)
        return BatchTensor(channels: c, count: n, height: h, width: w, data: values)
    }

    func testMaxPoolFloorMode() {
        // 5×7 input: the last row and column fall outside every 2×2 window.
        let layer = TrainableMaxPool2D(inputShape: [2, 5, 7], kernel: (2, 2))
        GradientCheck(epsilon: 5e-3).check(layer, input: spreadOut(2, 2, 5, 7, seed: 9))
    }

    func testMaxPoolOverlappingWindows() {
        let layer = TrainableMaxPool2D(inputShape: [1, 7, 7], kernel: (3, 3), stride: (2, 2))
        GradientCheck(epsilon: 5e-3).check(layer, input: spreadOut(1, 3, 7, 7, seed: 10))
    }

    /// With ties the gradient is not defined; the layer must route all of it to
    /// one input (the first in window order), conserving the total.
    func testMaxPoolTiesRouteToTheFirstMaximum() {
        let layer = TrainableMaxPool2D(inputShape: [1, 4, 4], kernel: (2, 2))
        // Window (0,0): all four tie; (0,1): two tie at 3 (positions 2 and 7);
        // (1,0): one clear max; (1,1): all equal to 0.
        let x = BatchTensor(channels: 1, count: 1, height: 4, width: 4, data: [
            2, 2, 3, 1,
            2, 2, 0, 3,
            1, 5, 0, 0,
            4, 1, 0, 0,
        ])
        let y = layer.forward(x, context: StepContext(training: true))
        XCTAssertEqual(y.data, [2, 3, 5, 0])
        let dy = BatchTensor(channels: 1, count: 1, height: 2, width: 2, data: [10, 20, 30, 40])
        let dx = layer.backward(dy, inputGradient: true, threads: 1)!
        XCTAssertEqual(dx.data, [
            10, 0, 20, 0,
            0, 0, 0, 0,
            0, 30, 40, 0,
            0, 0, 0, 0,
        ])
        XCTAssertEqual(dx.data.reduce(0, +), dy.data.reduce(0, +))
        // The forward values equal the runtime's max pool.
        let runtime = MaxPool2D(geometry: ConvGeometry(channels: 1, height: 4, width: 4, kernelH: 2, kernelW: 2,
                                                       strideH: 2, strideW: 2))
        XCTAssertEqual(runtime.forward(x.nchw).data, y.data)
    }

    func testReLU() {
        // |x| ≥ 0.05: no value crosses the kink under ±ε.
        var x = batch(3, 2, 3, 3, seed: 11)
        for i in x.data.indices where abs(x.data[i]) < 0.05 { x.data[i] = x.data[i] < 0 ? -0.05 : 0.05 }
        GradientCheck(epsilon: 5e-3).check(TrainableReLU(), input: x)
    }

    func testFlattenMatchesTheRuntimeOrder() {
        let x = batch(3, 2, 2, 3, seed: 12)
        let y = TrainableFlatten().forward(x, context: StepContext(training: true))
        // Image i's features are its NCHW values in C, H, W order.
        let nchw = x.nchw
        for i in 0..<2 {
            for f in 0..<18 { XCTAssertEqual(y.data[f * 2 + i], nchw.data[i * 18 + f]) }
        }
        GradientCheck().check(TrainableFlatten(), input: x)
    }

    func testDropoutGradientAndMask() {
        let layer = TrainableDropout(rate: 0.3, index: 0)
        let context = StepContext(training: true, seed: 5, step: 17)
        GradientCheck().check(layer, input: batch(4, 3, 2, 2, seed: 13), context: context)

        // Inverted dropout: kept elements scaled by 1/(1 − rate); about `rate` dropped.
        let mask = TrainableDropout.mask(count: 100_000, rate: 0.3, seed: 5, step: 17, index: 0)
        XCTAssertEqual(Set(mask), [0, 1 / Float(0.7)])
        let dropped = Double(mask.filter { $0 == 0 }.count) / Double(mask.count)
        XCTAssertEqual(dropped, 0.3, accuracy: 0.01)
        // A pure function of (seed, step, layer): repeatable, and fresh for another step or layer.
        XCTAssertEqual(mask, TrainableDropout.mask(count: 100_000, rate: 0.3, seed: 5, step: 17, index: 0))
        XCTAssertNotEqual(mask, TrainableDropout.mask(count: 100_000, rate: 0.3, seed: 5, step: 18, index: 0))
        XCTAssertNotEqual(mask, TrainableDropout.mask(count: 100_000, rate: 0.3, seed: 5, step: 17, index: 1))
        // Inference: identity.
        let x = batch(4, 3, 2, 2, seed: 14)
        XCTAssertEqual(layer.forward(x, context: StepContext(training: false)), x)
    }

    func testSoftmaxCrossEntropy() {
        let classes = 4, n = 3
        var z = BatchTensor(channels: classes, count: n, data: GradientCheck.random(classes * n, seed: 15, scale: 3))
        let labels = [2, 0, 3]
        let result = SoftmaxCrossEntropy.evaluate(logits: z, labels: labels)
        // Loss by hand: mean of −log softmax(z)[label].
        var expected = 0.0
        for i in 0..<n {
            let column = (0..<classes).map { Double(z.data[$0 * n + i]) }
            let logSum = Foundation.log(column.map { Foundation.exp($0) }.reduce(0, +))
            expected += logSum - column[labels[i]]
        }
        XCTAssertEqual(result.loss, expected / Double(n), accuracy: 1e-5)
        let epsilon: Float = 1e-2
        for j in z.data.indices {
            let original = z.data[j]
            z.data[j] = original + epsilon
            let plus = SoftmaxCrossEntropy.evaluate(logits: z, labels: labels).loss
            z.data[j] = original - epsilon
            let minus = SoftmaxCrossEntropy.evaluate(logits: z, labels: labels).loss
            z.data[j] = original
            XCTAssertEqual(Double(result.gradient.data[j]), (plus - minus) / Double(2 * epsilon), accuracy: 1e-3, "dz[\(j)]")
        }
    }

    /// The trainer's forward pass and the runtime's, over the same bundle, agree.
    func testTrainableForwardMatchesTheRuntime() throws {
        for architecture in [ModelArchitecture.fashionCNN, ModelArchitecture.mnist32CNN] {
            let network = TrainableNetwork(architecture: architecture, seed: 7)
            let shape = architecture.input.shape
            let x = BatchTensor(channels: 1, count: 3, height: shape[1], width: shape[2],
                                data: GradientCheck.random(3 * shape[1] * shape[2], seed: 16).map { abs($0) })
            let ours = network.forward(x, context: StepContext(training: false))
            let runtime = try network.runtimeNetwork().logits(x.nchw)
            for i in 0..<3 {
                for c in 0..<10 {
                    XCTAssertEqual(ours.data[c * 3 + i], runtime.data[i * 10 + c], accuracy: 1e-4,
                                   "\(architecture.name) image \(i) class \(c)")
                }
            }
        }
    }

    /// The bundle's manifest lists spec §4's layers, names and paddings.
    func testManifestsFollowTheSpec() throws {
        let fashion = TrainableNetwork(architecture: .fashionCNN, seed: 1).manifest(provenance: nil)
        XCTAssertEqual(fashion.layers.map(\.type), ["conv2d", "relu", "maxpool2d", "dropout", "conv2d", "relu", "maxpool2d",
                                                   "dropout", "flatten", "dense", "relu", "dropout", "dense", "softmax"])
        XCTAssertEqual(fashion.layers.compactMap(\.name), ["c0", "c1", "h0", "op"])
        XCTAssertEqual(fashion.layers.compactMap(\.padding), [[1, 1, 2, 2], [1, 1, 2, 2]])
        XCTAssertEqual(fashion.layers.compactMap(\.rate), [0.3, 0.3, 0.3])
        XCTAssertEqual(fashion.input.shape, [1, 28, 28])
        let mnist = TrainableNetwork(architecture: .mnist32CNN, seed: 1)
        XCTAssertEqual(mnist.manifest(provenance: nil).layers.compactMap(\.name), ["c0", "h0", "h1", "h2", "op"])
        XCTAssertEqual(mnist.manifest(provenance: nil).input.preprocessing.resize, "bilinear")
        let gemm = try mnist.runtimeNetwork().weightedLayers.map { [$0.shape.m, $0.shape.k, $0.shape.columnsPerImage] }
        XCTAssertEqual(gemm, [[32, 16, 841], [1024, 6272, 1], [256, 1024, 1], [64, 256, 1], [10, 64, 1]])
        let fashionGEMM = try TrainableNetwork(architecture: .fashionCNN, seed: 1).runtimeNetwork().weightedLayers
            .map { [$0.shape.m, $0.shape.k, $0.shape.columnsPerImage] }
        XCTAssertEqual(fashionGEMM, [[32, 16, 784], [32, 512, 196], [1024, 1568, 1], [10, 1024, 1]])
    }

    func testHeUniformRangeAndSeeding() {
        let w = HeUniform.weights(count: 10_000, fanIn: 24, seed: 3, layer: "h0")
        let limit = (6 / Float(24)).squareRoot()
        XCTAssert(w.allSatisfy { abs($0) <= limit })
        XCTAssertGreaterThan(w.map(abs).max()!, limit * 0.99)
        XCTAssertEqual(w, HeUniform.weights(count: 10_000, fanIn: 24, seed: 3, layer: "h0"))
        XCTAssertNotEqual(w, HeUniform.weights(count: 10_000, fanIn: 24, seed: 3, layer: "h1"))
        XCTAssertNotEqual(w, HeUniform.weights(count: 10_000, fanIn: 24, seed: 4, layer: "h0"))
    }
}
