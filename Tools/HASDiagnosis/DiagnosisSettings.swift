/// How precisely, and at what cost at most, a device is diagnosed.
public struct DiagnosisSettings: Codable, Equatable, Sendable {
    /// Wanted half-width of each PE's interval: relative (× the rate) above
    /// `rateFloor`, absolute (× `rateFloor`) below it.
    public var precision: Double = 0.1
    public var rateFloor: Double = 1e-3
    public var confidence: Double = 0.95
    /// Budget; nil = unlimited. A resumed run may be given a new budget.
    public var maxGEMMs: Int?
    public var maxSeconds: Double?
    /// Widest diagnostic GEMM (columns = products per PE per GEMM).
    public var maxColumns: Int = 16384
    /// Wrong products wanted before the error kind is decided.
    public var identificationErrors: Int = 200

    public init(precision: Double = 0.1, rateFloor: Double = 1e-3, confidence: Double = 0.95,
                maxGEMMs: Int? = nil, maxSeconds: Double? = nil) {
        self.precision = precision
        self.rateFloor = rateFloor
        self.confidence = confidence
        self.maxGEMMs = maxGEMMs
        self.maxSeconds = maxSeconds
    }

    /// The problem with these settings, if any.
    public var problem: String? {
        if !(precision > 0 && precision <= 1) { return "precision must be in (0, 1], got \(precision)" }
        if !(rateFloor > 0 && rateFloor <= 1) { return "rate floor must be in (0, 1], got \(rateFloor)" }
        if !(confidence >= 0.5 && confidence < 1) { return "confidence must be in [0.5, 1), got \(confidence)" }
        if let maxGEMMs, maxGEMMs < 1 { return "the GEMM budget must be at least 1, got \(maxGEMMs)" }
        if let maxSeconds, !(maxSeconds > 0) { return "the time budget must be positive, got \(maxSeconds)" }
        if !(16...(1 << 20)).contains(maxColumns) { return "columns per GEMM must be in 16…2^20, got \(maxColumns)" }
        return nil
    }

    /// The settings that decide the result (the budget only decides where it stops).
    var deciding: DiagnosisSettings {
        var s = self
        s.maxGEMMs = nil
        s.maxSeconds = nil
        return s
    }
}
