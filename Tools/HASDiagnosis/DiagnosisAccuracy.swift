import HASRuntime

/// How a diagnosis compares with the true rates, when they are known (a
/// simulated device): what the floors of BENCHMARKS.md are measured with.
public struct DiagnosisAccuracy: Codable, Equatable, Sendable {
    public var processingElements: Int
    /// Fraction of PEs whose true rate lies inside the reported interval.
    public var coverage: Double
    /// Mean |estimate − true| / true over PEs with true rate ≥ `rateFloor` (nil if none).
    public var meanRelativeError: Double?
    public var relativeErrorPEs: Int
    /// Largest |estimate − true| over all PEs.
    public var maxAbsoluteError: Double
    public var rateFloor: Double

    /// - Parameter truth: rates[s][t] of the device.
    public init(_ result: DiagnosisResult, truth: [[Double]], rateFloor: Double) {
        let threads = result.state.threads
        var inside = 0, relative = 0.0, counted = 0, worst = 0.0
        for (pe, e) in result.estimates.enumerated() {
            let p = truth[pe / threads][pe % threads]
            if e.lower <= p && p <= e.upper { inside += 1 }
            if p >= rateFloor {
                relative += abs(e.rate - p) / p
                counted += 1
            }
            worst = max(worst, abs(e.rate - p))
        }
        processingElements = result.estimates.count
        coverage = Double(inside) / Double(max(1, processingElements))
        meanRelativeError = counted > 0 ? relative / Double(counted) : nil
        relativeErrorPEs = counted
        maxAbsoluteError = worst
        self.rateFloor = rateFloor
    }
}
