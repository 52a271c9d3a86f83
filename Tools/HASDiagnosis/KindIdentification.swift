import Foundation
import HASRuntime

/// The wrong outputs seen while identifying a device's error kind: how many
/// products of each diagnostic value were observed, and how often each of its
/// possible wrong outputs (`DiagnosticValue.observations`, then "other") came out.
public struct KindEvidence: Codable, Equatable, Sendable {
    /// samples[value]: partial products observed.
    public var samples: [Int]
    /// counts[value][observation index].
    public var counts: [[Int]]

    public init() {
        samples = DiagnosticValue.allCases.map { _ in 0 }
        counts = DiagnosticValue.allCases.map { Array(repeating: 0, count: $0.observations.count + 1) }
    }

    public var errors: Int { counts.joined().reduce(0, +) }

    public mutating func add(_ other: KindEvidence) {
        for v in samples.indices {
            samples[v] += other.samples[v]
            for p in counts[v].indices { counts[v][p] += other.counts[v][p] }
        }
    }

    /// Whether the shape matches the observation tables.
    var isWellFormed: Bool {
        samples.count == DiagnosticValue.allCases.count && counts.count == samples.count
            && zip(DiagnosticValue.allCases, counts).allSatisfy { $1.count == $0.observations.count + 1 }
            && samples.allSatisfy { $0 >= 0 } && counts.joined().allSatisfy { $0 >= 0 }
    }
}

/// The error kind (and exponent-bit choice) that best explains the evidence:
/// maximum likelihood over every kind of spec §3. Under a kind, a fault on a
/// product of value v gives each of `DiagnosticValue.outcomes` with equal
/// probability; invisible outcomes are never observed, so the likelihood of
/// what was seen is conditioned on visibility.
public struct KindIdentification: Equatable, Sendable {
    /// nil: no wrong product was seen (a fault-free device, as far as measured).
    public var kind: ErrorKind?
    public var exponentBits: ExponentBits
    /// How the device's faulty products reach C, as the evidence best says.
    public var accumulation: FaultModel.Accumulation?
    /// The explanation after the best.
    public var runnerUp: (kind: ErrorKind, exponentBits: ExponentBits)?
    /// ln L(best) − ln L(runner-up): how much better the best explains the evidence.
    public var margin: Double
    /// Wrong products the chosen kind cannot produce.
    public var unexplained: Int
    public var observed: Int

    /// Below this margin (odds 1000:1) the identification is reported as uncertain.
    public static let confidentMargin = log(1000.0)
    /// Stands in for the probability of an output the kind cannot produce, so that
    /// a stray corruption does not rule out the kind that explains all the rest.
    static let impossible = 1e-9

    public var isConfident: Bool { kind == nil || (margin >= Self.confidentMargin && unexplained == 0) }

    public static func == (a: Self, b: Self) -> Bool {
        a.kind == b.kind && a.exponentBits == b.exponentBits && a.accumulation == b.accumulation && a.margin == b.margin && a.unexplained == b.unexplained
            && a.observed == b.observed && a.runnerUp?.kind == b.runnerUp?.kind
            && a.runnerUp?.exponentBits == b.runnerUp?.exponentBits
    }

    public static func identify(_ evidence: KindEvidence) -> KindIdentification {
        let observed = evidence.errors
        guard observed > 0 else {
            return KindIdentification(kind: nil, exponentBits: .low7, accumulation: nil, runnerUp: nil,
                                      margin: .infinity, unexplained: 0, observed: 0)
        }
        var scored: [(model: FaultModel, logLikelihood: Double, unexplained: Int)] = []
        for model in FaultModel.all {
            // P(value v, observation o | a visible fault) ∝ samples[v] · P(o | v).
            var probability = evidence.counts.map { $0.map { _ in 0.0 } }
            var visible = 0.0
            for value in DiagnosticValue.allCases {
                let outputs = model.outputs(of: value)
                let weight = Double(evidence.samples[value.rawValue]) / Double(outputs.count)
                for output in outputs where output != value.bits {
                    probability[value.rawValue][value.observationIndex(output)] += weight
                    visible += weight
                }
            }
            var logLikelihood = 0.0, unexplained = 0
            for v in evidence.counts.indices {
                for (o, count) in evidence.counts[v].enumerated() where count > 0 {
                    let q = visible > 0 ? probability[v][o] / visible : 0
                    if q == 0 { unexplained += count }
                    logLikelihood += Double(count) * log(q > 0 ? q : impossible)
                }
            }
            scored.append((model, logLikelihood, unexplained))
        }
        scored.sort { $0.logLikelihood > $1.logLikelihood }
        let best = scored[0]
        // The runner-up is the best explanation with another kind or bit choice (how
        // the device accumulates is evidence, not what is identified).
        let second = scored.first {
            $0.model.kind != best.model.kind || $0.model.exponentBits != best.model.exponentBits
        }
        return KindIdentification(kind: best.model.kind, exponentBits: best.model.exponentBits,
                                  accumulation: best.model.accumulation,
                                  runnerUp: second.map { ($0.model.kind, $0.model.exponentBits) },
                                  margin: second.map { best.logLikelihood - $0.logLikelihood } ?? .infinity,
                                  unexplained: best.unexplained, observed: observed)
    }

    /// The model the estimates are made for.
    public var model: FaultModel? {
        kind.map { FaultModel(kind: $0, exponentBits: exponentBits, accumulation: accumulation ?? .exact) }
    }

    /// One line for people: the kind and why.
    public var summary: String {
        guard let kind else { return "none: no wrong partial product seen" }
        var text = "\(kind.rawValue)"
        if kind.choosesExponentBit { text += " (exponent bits \(exponentBits.rawValue))" }
        text += " from \(observed) wrong products"
        if let runnerUp {
            let other = runnerUp.kind.rawValue + (runnerUp.kind.choosesExponentBit ? " \(runnerUp.exponentBits.rawValue)" : "")
            text += String(format: ", ln-likelihood %.1f above %@", margin, other)
        }
        if unexplained > 0 { text += "; \(unexplained) not explained by it" }
        if !isConfident { text += " (uncertain)" }
        return text
    }
}
