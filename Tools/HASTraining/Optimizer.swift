import Foundation
import HASRuntime

/// Which update rule, with its hyper-parameters besides the learning rate.
public enum OptimizerKind: Equatable, Sendable {
    case sgd(momentum: Float)
    /// Adam (Kingma & Ba 2015) with bias correction.
    case adam(beta1: Float, beta2: Float, epsilon: Float)

    public static let adam = OptimizerKind.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)

    /// How the manifest records it, e.g. "adam(beta1=0.9, beta2=0.999, eps=1e-08)".
    public var description: String {
        switch self {
        case .sgd(let momentum): return "sgd(momentum=\(momentum))"
        case .adam(let b1, let b2, let eps): return "adam(beta1=\(b1), beta2=\(b2), eps=\(eps))"
        }
    }
}

/// Applies gradients to parameters. Element-wise, so the split over threads
/// never changes a result.
public final class Optimizer {
    public let kind: OptimizerKind
    private let parameters: [Parameter]
    /// SGD: velocity; Adam: first moment.
    private var first: [[Float]]
    /// Adam: second moment.
    private var second: [[Float]]
    public private(set) var steps = 0

    public init(kind: OptimizerKind, parameters: [Parameter]) {
        self.kind = kind
        self.parameters = parameters
        first = parameters.map { [Float](repeating: 0, count: $0.count) }
        if case .adam = kind {
            second = parameters.map { [Float](repeating: 0, count: $0.count) }
        } else {
            second = []
        }
    }

    /// One update with learning rate `lr` from the parameters' current gradients.
    public func step(learningRate lr: Float, threads: Int = Parallelism.threads) {
        steps += 1
        for (index, p) in parameters.enumerated() {
            let count = p.count, workers = count >= 1 << 15 ? threads : 1
            p.value.withUnsafeMutableBufferPointer { wp in
                p.gradient.withUnsafeBufferPointer { gp in
                    first[index].withUnsafeMutableBufferPointer { mp in
                        let w = wp.baseAddress!, g = gp.baseAddress!, m = mp.baseAddress!
                        switch kind {
                        case .sgd(let momentum):
                            Parallelism.forRanges(count, granule: 1024, threads: workers) { range in
                                for i in range {
                                    m[i] = momentum * m[i] + g[i]
                                    w[i] -= lr * m[i]
                                }
                            }
                        case .adam(let b1, let b2, let eps):
                            let c1 = 1 - Float(Foundation.pow(Double(b1), Double(steps)))
                            let c2 = 1 - Float(Foundation.pow(Double(b2), Double(steps)))
                            second[index].withUnsafeMutableBufferPointer { vp in
                                let v = vp.baseAddress!
                                Parallelism.forRanges(count, granule: 1024, threads: workers) { range in
                                    for i in range {
                                        m[i] = b1 * m[i] + (1 - b1) * g[i]
                                        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                                        w[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Learning rate over the run.
public enum LearningRateSchedule: String, CaseIterable, Sendable {
    case constant
    /// lr · ½(1 + cos(π·t/T)) over all T steps of the planned epochs.
    case cosine

    public func rate(base: Double, step: Int, totalSteps: Int) -> Double {
        switch self {
        case .constant: return base
        case .cosine: return base * 0.5 * (1 + Foundation.cos(Double.pi * Double(step) / Double(max(1, totalSteps))))
        }
    }
}
