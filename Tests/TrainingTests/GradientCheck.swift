import HASRuntime
@testable import HASTraining
import XCTest

/// Finite-difference checks of a layer's backward pass.
///
/// The loss is L = Σ r ⊙ y for a fixed random r, so dL/dy = r. Each checked
/// value v gets the central difference (L(v + ε) − L(v − ε)) / 2ε, summed in
/// Double, and is compared with the analytic gradient.
struct GradientCheck {
    var epsilon: Float = 1e-2
    var absoluteTolerance: Double = 2e-3
    var relativeTolerance: Double = 1e-2

    /// Random values in [−scale, scale) from a seeded stream.
    static func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in rng.nextSignedUnit() * scale }
    }

    static func loss(_ y: BatchTensor, _ r: [Float]) -> Double {
        zip(y.data, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Checks dL/dx and every parameter's gradient of `layer` at `x`.
    /// - Parameter context: training context (dropout masks are a pure function of it).
    func check(_ layer: TrainableLayer, input x: BatchTensor, context: StepContext = StepContext(training: true),
               file: StaticString = #filePath, line: UInt = #line) {
        let y0 = layer.forward(x, context: context)
        let r = Self.random(y0.data.count, seed: 99)
        var dy = y0
        dy.data = r
        guard let dx = layer.backward(dy, inputGradient: true, threads: 2) else {
            return XCTFail("no input gradient", file: file, line: line)
        }
        XCTAssertEqual(dx.imageShape, x.imageShape, file: file, line: line)
        let parameterGradients = layer.parameters.map(\.gradient)

        var x2 = x
        func numeric(_ perturb: (Float) -> Void) -> Double {
            perturb(epsilon)
            let plus = Self.loss(layer.forward(x2, context: context), r)
            perturb(-2 * epsilon)
            let minus = Self.loss(layer.forward(x2, context: context), r)
            perturb(epsilon)
            return (plus - minus) / (2 * Double(epsilon))
        }
        for i in x.data.indices {
            let original = x2.data[i]
            let n = numeric { x2.data[i] += $0 }
            x2.data[i] = original
            compare(Double(dx.data[i]), n, "dx[\(i)]", file: file, line: line)
        }
        for (p, analytic) in zip(layer.parameters, parameterGradients) {
            for i in p.value.indices {
                let original = p.value[i]
                let n = numeric { p.value[i] += $0 }
                p.value[i] = original
                compare(Double(analytic[i]), n, "\(p.name)[\(i)]", file: file, line: line)
            }
        }
    }

    func compare(_ analytic: Double, _ numeric: Double, _ what: String, file: StaticString, line: UInt) {
        let tolerance = absoluteTolerance + relativeTolerance * max(abs(analytic), abs(numeric))
        XCTAssert(abs(analytic - numeric) <= tolerance,
                  "\(what): analytic \(analytic) vs numeric \(numeric)", file: file, line: line)
    }
}
