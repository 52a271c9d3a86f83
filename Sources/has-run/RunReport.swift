import Foundation
import HASRuntime

/// What `has-run` reports: the `--json` object (keys are only ever added,
/// never renamed) and the text summary.
struct RunReport: Encodable {
    var model: String
    var modelFile: String
    var weightsDigest: String
    var source: String
    var images: Int
    /// Fraction 0–1, when labels were given.
    var accuracy: Double?
    var correct: Int?
    var imagesPerSecond: Double
    var seconds: Double
    var batchSize: Int
    var threads: Int
    // With --device: `accuracy` is the mean over trials, `correct` and the
    // predictions are trial 0's, `images_per_second` the faulty runs' mean.
    var accuracyStd: Double?
    var trials: [Double]?
    var cleanAccuracy: Double?
    var cleanImagesPerSecond: Double?
    var fingerprint: String?
    var device: String?
    var kind: String?
    var faultyLayers: [String]?
    var seed: UInt64?
    // With --device, always present (null when there is no plan / no labels):
    // the plan's path, the layers it permutes, and the accuracy without it.
    var plan: String?
    var plannedLayers: [String]?
    var unplannedAccuracy: Double?
    private var deviceSummary: Device?

    /// The faulty runs of `has-run --device`.
    struct Device {
        var path: String
        var profile: FaultProfile
        var layers: [String]
        var seed: UInt64
        var runs: [Classification]
        var clean: Classification
        var labels: [Int]?
    }

    mutating func attach(_ device: Device) {
        deviceSummary = device
        fingerprint = device.profile.fingerprint
        self.device = device.path
        kind = device.profile.kind.rawValue
        faultyLayers = device.layers
        seed = device.seed
        cleanImagesPerSecond = device.clean.imagesPerSecond
        imagesPerSecond = Statistics.mean(device.runs.map(\.imagesPerSecond))
        seconds = device.runs.reduce(0) { $0 + $1.seconds }
        if let labels = device.labels {
            let accuracies = device.runs.map { $0.accuracy(labels: labels) }
            trials = accuracies
            accuracy = Statistics.mean(accuracies)
            accuracyStd = Statistics.standardDeviation(accuracies)
            cleanAccuracy = device.clean.accuracy(labels: labels)
        }
    }

    init(model: String, modelFile: String, weightsDigest: String, source: String, classification: Classification,
         labels: [Int]?, batchSize: Int, threads: Int) {
        self.model = model
        self.modelFile = modelFile
        self.weightsDigest = weightsDigest
        self.source = source
        self.images = classification.predictions.count
        if let labels {
            accuracy = classification.accuracy(labels: labels)
            correct = zip(classification.predictions, labels).filter { $0 == $1 }.count
        }
        self.imagesPerSecond = classification.imagesPerSecond
        self.seconds = classification.seconds
        self.batchSize = batchSize
        self.threads = threads
        self.predictionsShown = classification
        self.labels = labels
    }

    // Kept for the text report only (not encoded).
    private let predictionsShown: Classification
    private let labels: [Int]?

    enum CodingKeys: String, CodingKey {
        case model, modelFile = "model_file", weightsDigest = "weights_digest", source, images, accuracy, correct
        case imagesPerSecond = "images_per_second", seconds, batchSize = "batch_size", threads
        case accuracyStd = "accuracy_std", trials, cleanAccuracy = "clean_accuracy",
             cleanImagesPerSecond = "clean_images_per_second", fingerprint, device, kind,
             faultyLayers = "faulty_layers", seed
        case plan, plannedLayers = "planned_layers", unplannedAccuracy = "unplanned_accuracy"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(modelFile, forKey: .modelFile)
        try c.encode(weightsDigest, forKey: .weightsDigest)
        try c.encode(source, forKey: .source)
        try c.encode(images, forKey: .images)
        try c.encodeIfPresent(accuracy, forKey: .accuracy)
        try c.encodeIfPresent(correct, forKey: .correct)
        try c.encode(imagesPerSecond, forKey: .imagesPerSecond)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(threads, forKey: .threads)
        try c.encodeIfPresent(accuracyStd, forKey: .accuracyStd)
        try c.encodeIfPresent(trials, forKey: .trials)
        try c.encodeIfPresent(cleanAccuracy, forKey: .cleanAccuracy)
        try c.encodeIfPresent(cleanImagesPerSecond, forKey: .cleanImagesPerSecond)
        try c.encodeIfPresent(fingerprint, forKey: .fingerprint)
        try c.encodeIfPresent(device, forKey: .device)
        try c.encodeIfPresent(kind, forKey: .kind)
        try c.encodeIfPresent(faultyLayers, forKey: .faultyLayers)
        try c.encodeIfPresent(seed, forKey: .seed)
        if deviceSummary != nil {
            // Explicit nulls: a --device report always says whether a plan was applied.
            try c.encode(plan, forKey: .plan)
            try c.encodeIfPresent(plannedLayers, forKey: .plannedLayers)
            try c.encode(unplannedAccuracy, forKey: .unplannedAccuracy)
        }
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func text(classes: [String], names: [String]?, show: Int) -> String {
        var lines = ["model \(model) (weights \(weightsDigest.prefix(12))) on \(images) image\(images == 1 ? "" : "s") from \(source)"]
        let result = predictionsShown
        let count = names != nil ? images : min(show, images)
        for i in 0..<count {
            let p = result.predictions[i]
            let name = names?[i] ?? "#\(i)"
            let predicted = p < 0 ? "(no class: all scores NaN)" : classes[p]
            var line = "  \(name)  \(predicted)"
            if p >= 0 { line += String(format: "  (p=%.3f)", result.confidences[i]) }
            if let labels { line += "  label \(classes[labels[i]])\(labels[i] == p ? "" : "  ✗")" }
            lines.append(line)
        }
        if count < images { lines.append("  … \(images - count) more (use --output FILE for all)") }
        if let d = deviceSummary {
            let p = d.profile
            lines.append("device \(d.path): \(p.kind.rawValue), \(p.geometry.blocks)×\(p.geometry.threads) PEs, "
                         + String(format: "mean rate %.3g", p.meanRate) + ", fingerprint \(p.fingerprint)")
            lines.append("faulty layers \(d.layers.joined(separator: ", ")); \(d.runs.count) trial\(d.runs.count == 1 ? "" : "s") "
                         + "from seed \(d.seed)\(d.runs.count > 1 ? " (predictions above: trial 0)" : "")")
            if let accuracy, let accuracyStd, let cleanAccuracy, let trials {
                lines.append(String(format: "accuracy %.2f%% ± %.2f%% on the faulty device (trials: %@); clean %.2f%%",
                                    accuracy * 100, accuracyStd * 100,
                                    trials.map { String(format: "%.2f%%", $0 * 100) }.joined(separator: ", "), cleanAccuracy * 100))
            }
            lines.append(String(format: "speed %.0f images/s faulty, %.0f clean (batch %d, %d threads)", imagesPerSecond,
                                cleanImagesPerSecond ?? 0, batchSize, threads))
            return lines.joined(separator: "\n")
        }
        if let accuracy, let correct {
            lines.append(String(format: "accuracy %.2f%% (%d / %d)", accuracy * 100, correct, images))
        }
        lines.append(String(format: "speed %.0f images/s (batch %d, %d threads, %.2f s)", imagesPerSecond, batchSize,
                            threads, seconds))
        return lines.joined(separator: "\n")
    }
}
