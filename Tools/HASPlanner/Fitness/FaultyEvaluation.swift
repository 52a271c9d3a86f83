import Foundation
import HASRuntime

/// Predictions of several trials on one image set.
public struct FaultyEvaluation: Sendable {
    /// predictions[trial][image]; -1 = no class (all scores NaN).
    public var predictions: [[Int]]
    public let labels: [Int]

    /// Top-1 accuracy per trial.
    public var accuracies: [Double] { predictions.map { FaultyEvaluation.accuracy($0, labels) } }
    public var mean: Double { Statistics.mean(accuracies) }
    /// Sample standard deviation over trials (0 for one trial).
    public var standardDeviation: Double { Statistics.standardDeviation(accuracies) }

    /// correct[trial][image].
    public var correct: [[Bool]] { predictions.map { zip($0, labels).map { $0 == $1 } } }

    /// Mean softmax probability of the true label ("soft accuracy"): a smooth
    /// stand-in for top-1 accuracy whose differences are far less noisy on few
    /// images. NaN scores give probability 0.
    public static func labelProbability(_ scores: Tensor, _ labels: [Int]) -> Double {
        guard !labels.isEmpty else { return .nan }
        var total = 0.0
        for (i, label) in labels.enumerated() { total += labelProbability(rowOf: scores, i, label: label) }
        return total / Double(labels.count)
    }

    /// Softmax probability of `label` in row `row` of scores [N, classes]; 0 when a score is NaN or +∞.
    @inline(__always)
    public static func labelProbability(rowOf scores: Tensor, _ row: Int, label: Int) -> Double {
        let classes = scores.shape.last ?? 1, base = row * classes
        var top = -Double.infinity
        for j in 0..<classes {
            let v = Double(scores.data[base + j])
            if v.isNaN { return 0 }
            top = max(top, v)
        }
        guard top.isFinite else { return 0 }
        var sum = 0.0
        for j in 0..<classes { sum += exp(Double(scores.data[base + j]) - top) }
        return exp(Double(scores.data[base + label]) - top) / sum
    }

    static func accuracy(_ predictions: [Int], _ labels: [Int]) -> Double {
        labels.isEmpty ? .nan : Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }
}
