import Foundation
import HASRuntime

/// Images with one class label each.
public struct LabeledImages: Sendable {
    public var images: IDXImages
    public var labels: [Int]

    public init(images: IDXImages, labels: [Int]) {
        precondition(images.count == labels.count, "\(images.count) images but \(labels.count) labels")
        self.images = images
        self.labels = labels
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> LabeledImages {
        let size = images.height * images.width
        var pixels = [UInt8](repeating: 0, count: indices.count * size)
        images.pixels.withUnsafeBufferPointer { src in
            for (j, i) in indices.enumerated() {
                for p in 0..<size { pixels[j * size + p] = src[i * size + p] }
            }
        }
        return LabeledImages(images: IDXImages(count: indices.count, height: images.height, width: images.width, pixels: pixels),
                             labels: indices.map { labels[$0] })
    }
}

/// How to train.
public struct TrainingOptions: Sendable {
    public var architecture: ModelArchitecture
    public var epochs: Int
    public var seed: UInt64
    public var optimizer: OptimizerKind
    public var learningRate: Double
    public var schedule: LearningRateSchedule
    public var batchSize: Int
    /// Fraction of the training file held out for validation (stratified).
    public var validationFraction: Double
    /// Stop after this many epochs without a better validation result (nil: run all epochs).
    public var patience: Int?
    public var augmentation: Augmentation?
    public var threads: Int

    public init(architecture: ModelArchitecture, epochs: Int, seed: UInt64, optimizer: OptimizerKind = .adam,
                learningRate: Double = 1e-3, schedule: LearningRateSchedule = .cosine, batchSize: Int = 64,
                validationFraction: Double = 0.1, patience: Int? = nil, augmentation: Augmentation? = nil,
                threads: Int = Parallelism.threads) {
        self.architecture = architecture
        self.epochs = epochs
        self.seed = seed
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.schedule = schedule
        self.batchSize = batchSize
        self.validationFraction = validationFraction
        self.patience = patience
        self.augmentation = augmentation
        self.threads = threads
    }
}

/// Where a run is, after each optimizer step.
public struct StepProgress: Sendable {
    public var epoch: Int
    public var epochs: Int
    /// Steps done in the whole run, and how many it plans.
    public var step: Int
    public var totalSteps: Int
    /// Running means over this epoch so far.
    public var loss: Double
    public var accuracy: Double
}

/// One finished epoch.
public struct EpochReport: Sendable {
    public var epoch: Int
    public var loss: Double
    public var trainingAccuracy: Double
    /// nil without a validation split.
    public var validationAccuracy: Double?
    public var validationLoss: Double?
    public var learningRate: Double
    public var seconds: Double
    /// Whether this epoch's weights are the best so far (and kept).
    public var isBest: Bool
}

public struct TrainingResult {
    /// With the best epoch's weights.
    public var network: TrainableNetwork
    public var bestEpoch: Int
    public var epochsRun: Int
    public var validationAccuracy: Double?
    public var history: [EpochReport]
    public var seconds: Double
    public var trainingCount: Int
    public var validationCount: Int
}

/// Mini-batch training with a held-out validation split and best-epoch
/// selection: the highest validation accuracy, ties keeping the earlier epoch.
///
/// Deterministic: the split, the batch order, the augmentation and dropout
/// masks are keyed by the seed, and every GEMM and reduction has a fixed
/// summation order, so the same seed gives bit-identical weights for any
/// thread count.
public enum Trainer {
    public static func train(_ data: LabeledImages, options: TrainingOptions,
                             onStep: ((StepProgress) -> Void)? = nil,
                             onEpoch: ((EpochReport) -> Void)? = nil) throws -> TrainingResult {
        precondition(options.epochs > 0 && options.batchSize > 0)
        let start = Date()
        let arch = options.architecture
        let maker = try ImageBatchMaker(input: arch.input, model: arch.name)
        let split = ValidationSplit(labels: data.labels, fraction: options.validationFraction, seed: options.seed)
        let train = data.subset(split.training)
        let validation = data.subset(split.validation)
        guard train.labels.count > 0 else { throw InputError(file: arch.name, "no training images left after the validation split") }
        if let bad = data.labels.first(where: { $0 < 0 || $0 >= arch.classes.count }) {
            throw InputError(file: arch.name, "label \(bad) is not one of the model's \(arch.classes.count) classes")
        }

        let network = TrainableNetwork(architecture: arch, seed: options.seed)
        let optimizer = Optimizer(kind: options.optimizer, parameters: network.parameters)
        let stepsPerEpoch = (train.labels.count + options.batchSize - 1) / options.batchSize
        let totalSteps = stepsPerEpoch * options.epochs
        var best: (epoch: Int, accuracy: Double, loss: Double, weights: [[Float]])?
        var history: [EpochReport] = []

        for epoch in 1...options.epochs {
            let epochStart = Date()
            var order = Array(0..<train.labels.count)
            var orderRNG = SplitMix64(seed: SplitMix64.mix(options.seed ^ 0x0_5EED_0DE5) &+ UInt64(epoch))
            shuffle(&order, with: &orderRNG)
            var lossSum = 0.0, correct = 0, seen = 0, lr = options.learningRate
            for b in 0..<stepsPerEpoch {
                let batch = Array(order[b * options.batchSize..<min(order.count, (b + 1) * options.batchSize)])
                let pixels = batchPixels(train.images, batch, epoch: epoch, options: options,
                                         imageIndex: { split.training[$0] })
                let images = IDXImages(count: batch.count, height: train.images.height, width: train.images.width, pixels: pixels)
                let x = BatchTensor(singleChannel: try maker.batch(from: images, range: 0..<batch.count, file: "training images"))
                lr = options.schedule.rate(base: options.learningRate, step: optimizer.steps, totalSteps: totalSteps)
                let context = StepContext(training: true, seed: options.seed, step: UInt64(optimizer.steps),
                                          threads: options.threads)
                let logits = network.forward(x, context: context)
                let result = SoftmaxCrossEntropy.evaluate(logits: logits, labels: batch.map { train.labels[$0] })
                network.backward(result.gradient, threads: options.threads)
                optimizer.step(learningRate: Float(lr), threads: options.threads)
                lossSum += result.loss * Double(batch.count)
                correct += result.correct
                seen += batch.count
                onStep?(StepProgress(epoch: epoch, epochs: options.epochs, step: optimizer.steps, totalSteps: totalSteps,
                                     loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen)))
            }
            var validationAccuracy: Double?, validationLoss: Double?
            var isBest = false
            if !validation.labels.isEmpty {
                let (accuracy, loss) = try Self.evaluate(network, on: validation, threads: options.threads)
                validationAccuracy = accuracy
                validationLoss = loss
                // Strictly better only: ties keep the earlier epoch (part of the shipped models' recipe).
                if best == nil || accuracy > best!.accuracy {
                    best = (epoch, accuracy, loss, network.snapshot())
                    isBest = true
                }
            } else {
                best = (epoch, .nan, .nan, [])
                isBest = true
            }
            let report = EpochReport(epoch: epoch, loss: lossSum / Double(seen), trainingAccuracy: Double(correct) / Double(seen),
                                     validationAccuracy: validationAccuracy, validationLoss: validationLoss, learningRate: lr,
                                     seconds: Date().timeIntervalSince(epochStart), isBest: isBest)
            history.append(report)
            onEpoch?(report)
            if let patience = options.patience, let best, epoch - best.epoch >= patience { break }
        }
        if let best, !best.weights.isEmpty { network.restore(best.weights) }
        return TrainingResult(network: network, bestEpoch: best!.epoch, epochsRun: history.count,
                              validationAccuracy: validation.labels.isEmpty ? nil : best!.accuracy,
                              history: history, seconds: Date().timeIntervalSince(start),
                              trainingCount: train.labels.count, validationCount: validation.labels.count)
    }

    /// The batch's raw pixels, distorted when the options augment. `imageIndex`
    /// maps a position in the training part to its index in the file (the augmentation key).
    static func batchPixels(_ images: IDXImages, _ batch: [Int], epoch: Int, options: TrainingOptions,
                            imageIndex: (Int) -> Int) -> [UInt8] {
        let size = images.height * images.width
        var pixels = [UInt8](repeating: 0, count: batch.count * size)
        let keys = batch.map(imageIndex)
        images.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                Parallelism.forRanges(batch.count, threads: options.augmentation == nil ? 1 : options.threads) { range in
                    for j in range {
                        let from = s + batch[j] * size, to = d + j * size
                        if let augmentation = options.augmentation {
                            var rng = Augmentation.generator(seed: options.seed, epoch: epoch, image: keys[j])
                            augmentation.apply(from, height: images.height, width: images.width, into: to, random: &rng)
                        } else {
                            to.update(from: from, count: size)
                        }
                    }
                }
            }
        }
        return pixels
    }

    /// Top-1 accuracy and mean cross-entropy of the network's current weights
    /// on `data`, run through the runtime's network exactly as has-run runs a bundle.
    public static func evaluate(_ network: TrainableNetwork, on data: LabeledImages, threads: Int,
                                batchSize: Int = 500) throws -> (accuracy: Double, loss: Double) {
        let runtime = try network.runtimeNetwork()
        let maker = try ImageBatchMaker(input: network.architecture.input, model: network.architecture.name)
        var correct = 0, loss = 0.0
        var start = 0
        while start < data.labels.count {
            let range = start..<min(data.labels.count, start + batchSize)
            let x = try maker.batch(from: data.images, range: range, file: "validation images")
            let logits = runtime.logits(x, options: ForwardOptions(threads: threads))
            let classes = logits.shape[1]
            // [N, classes] is the channel-major [classes, N] transposed.
            var z = BatchTensor(zeros: classes, count: range.count)
            for i in 0..<range.count {
                for c in 0..<classes { z.data[c * range.count + i] = logits.data[i * classes + c] }
            }
            let labels = range.map { data.labels[$0] }
            let result = SoftmaxCrossEntropy.evaluate(logits: z, labels: labels)
            loss += result.loss * Double(range.count)
            let predicted = Activations.argmax(logits)
            for (p, label) in zip(predicted, labels) where p == label { correct += 1 }
            start = range.upperBound
        }
        let n = Double(max(1, data.labels.count))
        return (Double(correct) / n, loss / n)
    }
}
