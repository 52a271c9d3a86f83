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
                                Self.sgd(w, g, m, range, lr: lr, momentum: momentum)
                            }
                        case .adam(let b1, let b2, let eps):
                            let c1 = 1 - Float(Foundation.pow(Double(b1), Double(steps)))
                            let c2 = 1 - Float(Foundation.pow(Double(b2), Double(steps)))
                            second[index].withUnsafeMutableBufferPointer { vp in
                                let v = vp.baseAddress!
                                Parallelism.forRanges(count, granule: 1024, threads: workers) { range in
                                    Self.adam(w, g, m, v, range, lr: lr, b1: b1, b2: b2, eps: eps, c1: c1, c2: c2)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // Eight lanes at a time; lanes and the scalar tail do the same IEEE
    // operations, so results do not depend on where a range starts.
    typealias Lanes = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
    @inline(__always)
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) }

    static func sgd(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                    _ range: Range<Int>, lr: Float, momentum: Float) {
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let mv = momentum * load(m + i) + load(g + i)
            store(mv, m + i)
            store(load(w + i) - lr * mv, w + i)
            i += 8
        }
        while i < range.upperBound {
            m[i] = momentum * m[i] + g[i]
            w[i] = w[i] - lr * m[i]
            i += 1
        }
    }

    /// `c1`, `c2`: the bias corrections 1 − βᵗ. The operation order is part of
    /// the shipped models' recipe: changing it changes their last bits.
    static func adam(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                     _ v: UnsafeMutablePointer<Float>, _ range: Range<Int>,
                     lr: Float, b1: Float, b2: Float, eps: Float, c1: Float, c2: Float) {
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let gv = load(g + i)
            let mv = b1 * load(m + i) + (1 - b1) * gv
            let vv = b2 * load(v + i) + (1 - b2) * gv * gv
            store(mv, m + i)
            store(vv, v + i)
            store(load(w + i) - lr * (mv / c1) / ((vv / c2).squareRoot() + eps), w + i)
            i += 8
        }
        while i < range.upperBound {
            let gi = g[i]
            let mi = b1 * m[i] + (1 - b1) * gi
            let vi = b2 * v[i] + (1 - b2) * gi * gi
            m[i] = mi
            v[i] = vi
            w[i] = w[i] - lr * (mi / c1) / ((vi / c2).squareRoot() + eps)
            i += 1
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
