import HASRuntime

/// Everything a diagnosis has measured so far: per PE and diagnostic value,
/// products observed and products wrong; the corruption patterns; where it
/// stands. Its checkpoint; the next GEMM is a function of it alone, so a run
/// resumed from it ends exactly as an uninterrupted one.
public struct DiagnosisState: Codable, Equatable, Sendable {
    public enum Phase: String, Codable, Sendable {
        /// Both diagnostic values, until the kind is known.
        case identify
        /// Only the values that show the identified kind best.
        case estimate
    }

    public var geometry: [Int]
    public var phase: Phase = .identify
    /// Diagnostic GEMMs run.
    public var gemms = 0
    /// Wall time of the GEMMs and their analysis so far (all runs of a resumed diagnosis).
    public var seconds = 0.0
    /// samples[pe][value] and errors[pe][value], pe = s·T + t.
    public var samples: [[Int]]
    public var errors: [[Int]]
    public var evidence = KindEvidence()
    /// The fault model the estimate phase targets (decided when the identify phase ends); nil = no fault seen.
    public var target: FaultModel?

    public init(geometry: FaultProfile.Geometry) {
        self.geometry = [geometry.blocks, geometry.threads]
        let values = DiagnosticValue.allCases.count
        samples = Array(repeating: Array(repeating: 0, count: values), count: geometry.processingElements)
        errors = samples
    }

    public var blocks: Int { geometry[0] }
    public var threads: Int { geometry[1] }

    /// The problem with a state read from a file, if any (sizes and ranges; the
    /// checkpoint's digest has already vouched that the bytes are as written).
    var problem: String? {
        guard geometry.count == 2, geometry[0] > 0, geometry[1] > 0,
              geometry[0] * geometry[1] == samples.count, samples.count == errors.count else {
            return "geometry and counts do not match"
        }
        let values = DiagnosticValue.allCases.count
        for (n, k) in zip(samples, errors) {
            guard n.count == values, k.count == values else { return "a PE has the wrong number of values" }
            for (a, b) in zip(n, k) where a < 0 || b < 0 || b > a { return "a PE has more errors than samples" }
        }
        guard evidence.isWellFormed else { return "malformed evidence" }
        if gemms < 0 || !(seconds >= 0) { return "negative progress" }
        return nil
    }
}
