import Foundation
import HASRuntime

/// Diagnoses a device through `TiledGEMMDevice` alone: estimates every PE's
/// fault rate with a confidence interval and identifies the error kind.
///
/// Design: each diagnostic GEMM is C = A·B with K = tileK = 1, A all ones and
/// M = (blocks tested)·T rows, so row r's products all run on PE r (block
/// r / T, thread r mod T) and C[r, n] = B[n] exactly, on any device. B holds
/// `DiagnosticValue`s: both values while the kind is identified, then only
/// those on which the kind's faults are most visible. Every wrong output is
/// one fault of a known PE; its bit pattern is the kind's evidence. GEMMs are
/// sized adaptively and run only over the blocks still holding a PE whose
/// interval is wider than asked, until every PE is resolved or the budget is
/// spent.
public final class DeviceDiagnosis {
    public let device: any TiledGEMMDevice
    public let settings: DiagnosisSettings
    public private(set) var state: DiagnosisState
    let z: Double

    /// Starts a diagnosis, or resumes one from `state`.
    /// - Throws: `InputError` for bad settings or a state of another geometry.
    public init(device: any TiledGEMMDevice, settings: DiagnosisSettings, resumingFrom state: DiagnosisState? = nil) throws {
        if let problem = settings.problem { throw InputError(file: "diagnosis settings", problem) }
        let geometry = device.geometry
        if let state {
            guard state.blocks == geometry.blocks, state.threads == geometry.threads else {
                throw InputError(file: "diagnosis checkpoint", "made for a \(state.blocks)×\(state.threads) device, "
                                 + "not this \(geometry.blocks)×\(geometry.threads) one")
            }
        }
        self.device = device
        self.settings = settings
        self.state = state ?? DiagnosisState(geometry: geometry)
        self.z = BinomialInterval.z(confidence: settings.confidence)
    }

    /// Where a run stands, for progress bars.
    public struct Progress: Sendable {
        public var resolved: Int
        public var processingElements: Int
        public var gemms: Int
        public var seconds: Double
        public var phase: DiagnosisState.Phase
        /// GEMMs the neediest unresolved PE still wants, at the widest GEMM (a rough ETA).
        public var gemmsLeft: Int
    }

    /// The fault model the estimates are made for now (nil: the widest bound over all).
    var estimateModel: FaultModel? { state.phase == .identify ? nil : state.target }

    public func estimates() -> [RateEstimate] {
        let model = estimateModel
        return (0..<state.samples.count).map { state.estimate(pe: $0, model: model, settings: settings, z: z) }
    }

    /// Runs GEMMs until every PE is resolved or the budget is spent; calls
    /// `progress` and `checkpoint` after each GEMM (a thrown error stops the run).
    public func run(progress: (Progress) -> Void = { _ in },
                    checkpoint: (DiagnosisState) throws -> Void = { _ in }) throws -> DiagnosisResult {
        let start = Date(), secondsBefore = state.seconds
        var stop: DiagnosisResult.Stop = .resolved
        var c: [Float] = []
        while true {
            var current = estimates()
            if state.phase == .identify, advancesToEstimate(current) {
                state.phase = .estimate
                state.target = KindIdentification.identify(state.evidence).model
                current = estimates()
            }
            let unresolved = current.indices.filter { !current[$0].resolved }
            if unresolved.isEmpty { break }
            if let maxGEMMs = settings.maxGEMMs, state.gemms >= maxGEMMs { stop = .gemmBudget; break }
            if let maxSeconds = settings.maxSeconds, state.seconds >= maxSeconds { stop = .timeBudget; break }

            let gemm = nextGEMM(current, unresolved: unresolved)
            try device.multiply(m: gemm.rows, k: 1, n: gemm.values.count, tileK: 1,
                                a: [Float](repeating: 1, count: gemm.rows), b: gemm.values.map(\.value), into: &c)
            record(c, gemm)
            state.gemms += 1
            state.seconds = secondsBefore + Date().timeIntervalSince(start)
            progress(Progress(resolved: current.count - unresolved.count, processingElements: current.count,
                              gemms: state.gemms, seconds: state.seconds, phase: state.phase,
                              gemmsLeft: (gemm.needed + settings.maxColumns - 1) / settings.maxColumns))
            try checkpoint(state)
        }
        // The reported estimates follow all the evidence, the estimate phase's included;
        // the state stays as the run left it, so that a budget-stopped run resumes exactly.
        let identification = KindIdentification.identify(state.evidence)
        let final = (0..<state.samples.count).map {
            state.estimate(pe: $0, model: identification.model, settings: settings, z: z)
        }
        return DiagnosisResult(settings: settings, state: state, identification: identification, estimates: final, stop: stop)
    }

    /// Whether identification is over: enough wrong products and a clear winner,
    /// or every PE resolved whatever the kind (few or no faults: the evidence is all there will be).
    func advancesToEstimate(_ current: [RateEstimate]) -> Bool {
        if state.evidence.errors >= settings.identificationErrors && KindIdentification.identify(state.evidence).isConfident {
            return true
        }
        return current.allSatisfy(\.resolved)
    }

    struct GEMM {
        var rows: Int
        var values: [DiagnosticValue]
        /// Products the neediest unresolved PE wanted before this GEMM.
        var needed: Int
    }

    /// Largest diagnostic GEMM output, in elements (256 MB of floats).
    static let maxOutputs = 1 << 26

    /// The next GEMM: over the blocks up to the last with an unresolved PE, as
    /// wide as the neediest PE wants (at most doubling what it has seen).
    func nextGEMM(_ current: [RateEstimate], unresolved: [Int]) -> GEMM {
        let threads = state.threads
        let rows = (unresolved.last! / threads + 1) * threads
        // Until the kind is known, both values; then those that show it best.
        let values = estimateModel?.mostVisible.values ?? DiagnosticValue.allCases
        let needed = unresolved.map { state.samplesNeeded(current[$0], settings: settings, z: z) }.max() ?? 0
        let seen = unresolved.map { current[$0].samples }.min() ?? 0
        // At most `maxOutputs` elements of C (a million-PE device gets narrow GEMMs, not a 16 GB one).
        let columns = min(settings.maxColumns, max(16, Self.maxOutputs / rows),
                          max(1024, min(needed, max(4096, 2 * seen))))
        let width = (columns + values.count - 1) / values.count * values.count
        return GEMM(rows: rows, values: (0..<width).map { values[$0 % values.count] }, needed: needed)
    }

    /// Counts row r's products and wrong outputs for PE r, and their patterns.
    func record(_ c: [Float], _ gemm: GEMM) {
        let n = gemm.values.count, valueCount = DiagnosticValue.allCases.count
        var perValue = Array(repeating: 0, count: valueCount)
        for value in gemm.values { perValue[value.rawValue] += 1 }
        let expected = gemm.values.map(\.bits), kinds = gemm.values.map(\.rawValue)
        let workers = min(Parallelism.threads, max(1, gemm.rows / 64))
        var partial = Array(repeating: KindEvidence(), count: workers)
        var rowErrors = Array(repeating: Array(repeating: 0, count: valueCount), count: gemm.rows)
        c.withUnsafeBufferPointer { c in
            partial.withUnsafeMutableBufferPointer { partial in
                rowErrors.withUnsafeMutableBufferPointer { rowErrors in
                    let (c, partial, rowErrors) = (c, partial, rowErrors)
                    Parallelism.forEach(workers, threads: workers) { w in
                        let lo = gemm.rows * w / workers, hi = gemm.rows * (w + 1) / workers
                        for r in lo..<hi {
                            let row = UnsafeRawPointer(c.baseAddress! + r * n).assumingMemoryBound(to: UInt32.self)
                            for j in 0..<n where row[j] != expected[j] {
                                rowErrors[r][kinds[j]] += 1
                                partial[w].counts[kinds[j]][gemm.values[j].observationIndex(row[j])] += 1
                            }
                        }
                    }
                }
            }
        }
        for r in 0..<gemm.rows {
            for v in 0..<valueCount {
                state.samples[r][v] += perValue[v]
                state.errors[r][v] += rowErrors[r][v]
                state.evidence.samples[v] += perValue[v]
            }
        }
        for p in partial { state.evidence.add(p) }
    }
}

/// What a diagnosis found.
public struct DiagnosisResult: Sendable {
    public enum Stop: String, Sendable {
        /// Every PE's interval is as narrow as asked.
        case resolved
        case gemmBudget = "GEMM budget"
        case timeBudget = "time budget"
    }

    public var settings: DiagnosisSettings
    public var state: DiagnosisState
    public var identification: KindIdentification
    /// Per PE, pe = s·T + t.
    public var estimates: [RateEstimate]
    public var stop: Stop

    /// PEs whose interval is still wider than asked (budget spent), as pe = s·T + t.
    public var unresolved: [Int] { estimates.indices.filter { !estimates[$0].resolved } }

    /// Partial products the device computed for the diagnosis.
    public var productsTested: Int { state.samples.joined().reduce(0, +) }

    /// The fault profile of the diagnosed device (spec §6, origin "diagnosed").
    /// A device with no fault seen is written with rates 0 and kind `bitflip`
    /// (any kind behaves the same at rate 0); its upper bounds say how clean it is.
    public func profile(tiling: FaultProfile.Tiling = .init()) throws -> FaultProfile {
        let blocks = state.blocks, threads = state.threads
        func matrix<T>(_ value: (RateEstimate) -> T) -> [[T]] {
            (0..<blocks).map { s in (0..<threads).map { t in value(estimates[s * threads + t]) } }
        }
        let diagnosis = FaultProfile.Diagnosis(
            samples: matrix(\.samples), errors: matrix(\.errors), confidence: settings.confidence,
            lower: matrix(\.lower), upper: matrix(\.upper),
            method: "has-diagnose: K=1 GEMMs of 1.9999999/3.9999998, Wilson interval / visibility",
            identifiedKind: identification.kind?.rawValue ?? "none", kindEvidence: identification.summary,
            unresolved: unresolved.map { [$0 / threads, $0 % threads] }, gemms: state.gemms,
            precision: settings.precision, rateFloor: settings.rateFloor, visibility: estimates.first?.visibility)
        return try FaultProfile(geometry: .init(blocks: blocks, threads: threads), tiling: tiling,
                                kind: identification.kind ?? .bitflip, exponentBits: identification.exponentBits,
                                rates: matrix(\.rate), origin: .diagnosed(diagnosis))
    }
}
