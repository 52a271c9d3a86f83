import ArgumentParser
import Foundation
import HASCommandLine
import HASRuntime
import HASTraining

/// `has-train [train]`: train one of the spec's models from IDX files and write its bundle.
struct HASTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train mnist32-cnn or fashion-cnn and write a model bundle.",
        discussion: """
            Trains on an IDX image/label pair (gzip or raw), holding out a stratified \
            part of it for validation and keeping the epoch with the best validation \
            accuracy. With --test-images/--test-labels the kept weights are evaluated \
            through the runtime, as has-run does. The same seed gives bit-identical \
            weights for any thread count. The manifest records the data files and \
            their SHA-256, every setting, the accuracies, the wall time and this command.
            """
    )

    enum OptimizerName: String, ExpressibleByArgument, CaseIterable { case adam, sgd }

    @Option(help: "Model to train: \(ModelArchitecture.known.keys.sorted().joined(separator: " or ")).")
    var model: String

    @Option(help: "Training images (IDX, gzip or raw).")
    var trainImages: String

    @Option(help: "Training labels (IDX).")
    var trainLabels: String

    @Option(help: "Test images (IDX) for the final accuracy; never used for training or selection.")
    var testImages: String?

    @Option(help: "Test labels (IDX).")
    var testLabels: String?

    @Option(help: "Most epochs to train.")
    var epochs: Int

    @Option(help: "Seed of initialisation, split, batch order, augmentation and dropout.")
    var seed: UInt64 = 1

    @Option(help: "Optimizer: adam or sgd (with momentum).")
    var optimizer: OptimizerName = .adam

    @Option(name: .customLong("lr"), help: "Base learning rate.")
    var learningRate: Double = 1e-3

    @Option(help: "SGD momentum.")
    var momentum: Float = 0.9

    @Option(help: "Learning-rate schedule: cosine (decay to 0 over --epochs) or constant.")
    var schedule: String = "cosine"

    @Option(help: "Images per mini-batch.")
    var batch: Int = 64

    @Option(help: "Fraction of the training file held out for validation.")
    var validation: Double = 0.1

    @Option(help: "Stop after this many epochs without a better validation accuracy.")
    var patience: Int?

    @Flag(inversion: .prefixedNo, help: "Random shifts, rotations and scalings of training images (default: on for mnist32-cnn).")
    var augment: Bool?

    @Option(help: "Augmentation: largest shift in pixels.")
    var maxShift: Float = Augmentation.mnist.maxShift

    @Option(help: "Augmentation: largest rotation in degrees.")
    var maxRotation: Float = Augmentation.mnist.maxRotationDegrees

    @Option(help: "Augmentation: largest relative scale change (0.1 = ±10%).")
    var maxScale: Float = Augmentation.mnist.maxScaleChange

    @Option(help: "Use only the first N training images.")
    var limit: Int?

    @OptionGroup var threads: ThreadOptions

    @Option(help: "Name of the data set for the manifest (default: from the model).")
    var dataset: String?

    @Option(help: "Where to write the bundle (.zip).")
    var out: String

    func validate() throws {
        guard ModelArchitecture.known[model] != nil else {
            throw ValidationError("unknown model '\(model)' (known: \(ModelArchitecture.known.keys.sorted().joined(separator: ", ")))")
        }
        if (testImages == nil) != (testLabels == nil) { throw ValidationError("give --test-images and --test-labels together") }
        if epochs <= 0 { throw ValidationError("--epochs must be positive") }
        if !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--lr must be positive") }
        if !(0...1).contains(momentum) { throw ValidationError("--momentum must be between 0 and 1") }
        if LearningRateSchedule(rawValue: schedule) == nil { throw ValidationError("--schedule must be cosine or constant") }
        if !(1...65_536).contains(batch) { throw ValidationError("--batch must be between 1 and 65536") }
        if !(validation >= 0 && validation < 1) { throw ValidationError("--validation must be in [0, 1)") }
        if let patience, patience <= 0 { throw ValidationError("--patience must be positive") }
        if maxShift < 0 || maxRotation < 0 || !(0..<1).contains(maxScale) {
            throw ValidationError("augmentation limits must be non-negative (and --max-scale below 1)")
        }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if !out.hasSuffix(".zip") { throw ValidationError("--out must end in .zip") }
    }

    func run() throws {
        // Before hours of training, not after: the output must be writable.
        try checkWritable(out)
        let architecture = ModelArchitecture.known[model]!
        let threadCount = threads.count
        let images = try IDXImages.read(path: trainImages, limit: limit)
        let labels = try IDXLabels.read(path: trainLabels, limit: limit)
        try labels.check(classCount: architecture.classes.count, file: trainLabels)
        guard labels.count == images.count else {
            throw InputError(file: trainLabels, "has \(labels.count) labels but \(trainImages) has \(images.count) images")
        }
        // Open the test set before hours of training, so a typo fails at once.
        let testSet = try testImages.map {
            try ImageSet.open(images: $0, labels: testLabels, limit: nil, input: architecture.input,
                              model: architecture.name, classCount: architecture.classes.count)
        }
        let augmentation = (augment ?? (model == ModelArchitecture.mnist32CNN.name))
            ? Augmentation(maxShift: maxShift, maxRotationDegrees: maxRotation, maxScaleChange: maxScale) : nil
        let optimizerKind: OptimizerKind = optimizer == .adam ? .adam : .sgd(momentum: momentum)
        let options = TrainingOptions(
            architecture: architecture, epochs: epochs, seed: seed, optimizer: optimizerKind,
            learningRate: learningRate, schedule: LearningRateSchedule(rawValue: schedule)!, batchSize: batch,
            validationFraction: validation, patience: patience, augmentation: augmentation, threads: threadCount)

        var progress: ProgressBar?
        let result = try Trainer.train(
            LabeledImages(images: images, labels: labels.labels.map(Int.init)), options: options,
            onStep: { step in
                if progress == nil { progress = ProgressBar(total: step.totalSteps, label: model) }
                progress!.update(step.step, status: String(format: "epoch %d/%d loss %.4f acc %.2f%%",
                                                            step.epoch, step.epochs, step.loss, step.accuracy * 100))
            },
            onEpoch: { epoch in
                progress?.finish()
                let validation = epoch.validationAccuracy.map {
                    String(format: "  val %.2f%% (loss %.4f)", $0 * 100, epoch.validationLoss ?? .nan)
                } ?? ""
                StandardError.write(String(format: "epoch %3d/%d  loss %.4f  train %.2f%%%@  lr %.2e  %.1f s%@",
                                  epoch.epoch, epochs, epoch.loss, epoch.trainingAccuracy * 100, validation,
                                  epoch.learningRate, epoch.seconds, epoch.isBest ? "  *" : ""))
            })
        progress?.finish()

        var testAccuracy: Double?
        if let testSet, let testLabelValues = testSet.labels {
            let network = try result.network.runtimeNetwork()
            let classification = try Classifier(network: network, batchSize: 256)
                .classify(testSet.source, options: ForwardOptions(threads: threadCount))
            testAccuracy = classification.accuracy(labels: testLabelValues)
        }
        var files: [String: String] = [:]
        for path in [trainImages, trainLabels] + [testImages, testLabels].compactMap({ $0 }) {
            files[URL(fileURLWithPath: path).lastPathComponent] = try sha256Hex(ofFile: path)
        }
        let provenance = Provenance(
            dataset: dataset ?? (model == ModelArchitecture.fashionCNN.name ? "Fashion-MNIST" : "MNIST"),
            datasetFiles: files, seed: seed, epochs: result.epochsRun, optimizer: optimizerKind.description,
            learningRate: learningRate, testAccuracy: testAccuracy, trainingSeconds: (result.seconds * 10).rounded() / 10,
            trainer: "has-train", notes: nil, batchSize: batch, learningRateSchedule: schedule,
            augmentation: augmentation?.description ?? "none", trainingImages: result.trainingCount,
            validationImages: result.validationCount, validationAccuracy: result.validationAccuracy,
            bestEpoch: result.bestEpoch, testImages: testSet?.source.count,
            // The tool by name, not by the path it ran from (no machine's paths in a shipped bundle).
            commandLine: (["has-train"] + CommandLine.arguments.dropFirst()).map(shellQuoted).joined(separator: " "))
        try result.network.bundle(provenance: provenance).write(to: out)

        var summary = "\(model): kept epoch \(result.bestEpoch) of \(result.epochsRun)"
        if let v = result.validationAccuracy { summary += String(format: ", validation %.2f%%", v * 100) }
        if let t = testAccuracy { summary += String(format: ", test %.2f%% (%d images)", t * 100, testSet!.source.count) }
        summary += String(format: ", %.0f s training → %@", result.seconds, out)
        print(summary)
    }
}

/// Quotes an argument for a POSIX shell when it needs it.
func shellQuoted(_ s: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:+,@%")
    if !s.isEmpty && s.allSatisfy({ safe.contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
