import Foundation

/// Mean softmax cross-entropy over a batch of logits [classes, N] (feature-major).
public enum SoftmaxCrossEntropy {
    public struct Result {
        /// Mean of −log p(label) over the batch.
        public var loss: Double
        /// dLoss/dlogits, [classes, N].
        public var gradient: BatchTensor
        /// Images whose largest logit is their label.
        public var correct: Int
    }

    public static func evaluate(logits z: BatchTensor, labels: [Int]) -> Result {
        let classes = z.channels, n = z.count
        precondition(z.planeSize == 1 && labels.count == n)
        var grad = BatchTensor(zeros: classes, count: n)
        var loss = 0.0, correct = 0
        var p = [Float](repeating: 0, count: classes)
        for i in 0..<n {
            var peak = -Float.infinity, best = 0
            for c in 0..<classes where z.data[c * n + i] > peak {
                peak = z.data[c * n + i]
                best = c
            }
            var total: Float = 0
            for c in 0..<classes {
                p[c] = Foundation.exp(z.data[c * n + i] - peak)
                total += p[c]
            }
            let label = labels[i]
            loss -= Double(Foundation.log(max(p[label] / total, Float.leastNormalMagnitude)))
            if best == label { correct += 1 }
            for c in 0..<classes {
                grad.data[c * n + i] = (p[c] / total - (c == label ? 1 : 0)) / Float(n)
            }
        }
        return Result(loss: loss / Double(n), gradient: grad, correct: correct)
    }
}
