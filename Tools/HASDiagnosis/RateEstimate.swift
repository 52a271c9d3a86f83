import HASRuntime

/// One PE's estimated fault rate with its confidence interval.
public struct RateEstimate: Equatable, Sendable {
    public var rate: Double
    public var lower: Double
    public var upper: Double
    /// Products whose faults the estimate counts (of the values that show the kind best), and the wrong ones.
    public var samples: Int
    public var errors: Int
    /// The fraction of the kind's faults those products reveal (1 for most kinds).
    public var visibility: Double
    /// Whether the interval is as narrow as the settings ask.
    public var resolved: Bool
}

extension DiagnosisState {
    /// PE `pe`'s estimate if the device's faults follow `model` (nil: none seen,
    /// so the widest bound over every model a device may have).
    ///
    /// Only the diagnostic values on which the kind's faults are most visible are
    /// counted (visibility v): their wrong products are Binomial(n, p·v), so the
    /// Wilson interval of that proportion divided by v is an interval for p itself,
    /// the fault rate rather than the visible-error rate.
    public func estimate(pe: Int, model: FaultModel?, settings: DiagnosisSettings, z: Double) -> RateEstimate {
        guard let model else {
            return FaultModel.all.map { estimate(pe: pe, model: $0, settings: settings, z: z) }.max { $0.upper < $1.upper }!
        }
        let (counted, best) = model.mostVisible
        var n = 0, k = 0
        for value in counted {
            n += samples[pe][value.rawValue]
            k += errors[pe][value.rawValue]
        }
        let (low, high) = BinomialInterval.wilson(successes: k, trials: n, z: z)
        let rate = n > 0 ? min(1, Double(k) / Double(n) / best) : 0
        let lower = min(1, low / best), upper = min(1, high / best)
        let resolved = n > 0 && (upper - lower) / 2 <= settings.precision * max(rate, settings.rateFloor)
        return RateEstimate(rate: rate, lower: lower, upper: upper, samples: n, errors: k, visibility: best,
                            resolved: resolved)
    }

    /// More products of the counted values that PE `pe` needs, by the normal
    /// approximation at its current estimate (0 when resolved).
    func samplesNeeded(_ e: RateEstimate, settings: DiagnosisSettings, z: Double) -> Int {
        if e.resolved { return 0 }
        let q = e.samples > 0 ? Double(e.errors) / Double(e.samples) : 0
        let halfWidth = settings.precision * max(e.rate, settings.rateFloor) * e.visibility
        let needed = z * z * max(q, halfWidth) * (1 - min(q, 0.999)) / (halfWidth * halfWidth)
        return max(1, Int(min(needed, 1e15)) - e.samples)
    }
}
