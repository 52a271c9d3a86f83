import Foundation

/// A (simulated) accelerator's fault behaviour, spec §3 and §6: geometry
/// (B blocks × T threads), tiling, error kind, exponent-bit choice, one fault
/// rate per PE, and where the rates came from. Its `fingerprint` keys plans.
///
/// File format: `docs/fault-profile.md`. Rates are kept in the canonical
/// decimal form of the fingerprint (10 significant digits), so that two
/// profiles with the same fingerprint behave identically.
public struct FaultProfile: Equatable, Sendable {
    /// B blocks (SMs) × T threads (PEs) per block.
    public struct Geometry: Equatable, Sendable {
        public var blocks: Int
        public var threads: Int
        public init(blocks: Int, threads: Int) {
            self.blocks = blocks
            self.threads = threads
        }
        /// The paper's device: 20 blocks × 32 threads.
        public static let paper = Geometry(blocks: 20, threads: 32)
        public var processingElements: Int { blocks * threads }
    }

    /// K-tile widths; nil keeps the spec's default for the layer.
    public struct Tiling: Equatable, Sendable {
        /// Dense layers' K tile (spec default 32).
        public var denseTileK: Int?
        /// Convolutions' K tile (spec default kh·kw: one input channel's window).
        public var convTileK: Int?
        public init(denseTileK: Int? = nil, convTileK: Int? = nil) {
            self.denseTileK = denseTileK
            self.convTileK = convTileK
        }
        public static let defaultDenseTileK = 32

        /// The K tile of a layer with this GEMM shape.
        public func tileK(for shape: GEMMShape, isConvolution: Bool) -> Int {
            (isConvolution ? convTileK : denseTileK) ?? shape.defaultTileK
        }
    }

    /// How the rates were obtained.
    public enum Origin: Equatable, Sendable {
        /// p ~ Uniform(0, FR_max) per PE, from `seed` (paper §4.2).
        case synthetic(frMax: Double, seed: UInt64)
        /// Estimated by running diagnostic GEMMs through a device.
        case diagnosed(Diagnosis)
    }

    /// What a diagnosis measured, per PE ([B][T] each).
    public struct Diagnosis: Equatable, Sendable, Codable {
        /// Partial products observed per PE.
        public var samples: [[Int]]
        /// Of those, how many were wrong.
        public var errors: [[Int]]
        /// Confidence level of the intervals (e.g. 0.999).
        public var confidence: Double
        /// Interval bounds on each PE's rate.
        public var lower: [[Double]]
        public var upper: [[Double]]
        /// Free text: method, device, date.
        public var method: String?
        /// The error kind the corruption patterns showed ("none" when no fault was seen), and why.
        public var identifiedKind: String?
        public var kindEvidence: String?
        /// [block, thread] of each PE whose interval is wider than asked (the budget ran out).
        public var unresolved: [[Int]]?
        /// Diagnostic GEMMs run; the precision and rate floor asked for.
        public var gemms: Int?
        public var precision: Double?
        public var rateFloor: Double?
        /// The fraction of the kind's faults the counted products reveal: rate = errors / samples / visibility.
        public var visibility: Double?
        public init(samples: [[Int]], errors: [[Int]], confidence: Double, lower: [[Double]], upper: [[Double]],
                    method: String? = nil, identifiedKind: String? = nil, kindEvidence: String? = nil,
                    unresolved: [[Int]]? = nil, gemms: Int? = nil, precision: Double? = nil, rateFloor: Double? = nil,
                    visibility: Double? = nil) {
            self.samples = samples
            self.errors = errors
            self.confidence = confidence
            self.lower = lower
            self.upper = upper
            self.method = method
            self.identifiedKind = identifiedKind
            self.kindEvidence = kindEvidence
            self.unresolved = unresolved
            self.gemms = gemms
            self.precision = precision
            self.rateFloor = rateFloor
            self.visibility = visibility
        }
    }

    // The fingerprint is kept up to date with what it covers: computing it
    // hashes every rate (~0.1 s for a 2^20-PE device), and it is asked often.
    public var geometry: Geometry { didSet { fingerprint = computedFingerprint } }
    public var tiling: Tiling { didSet { fingerprint = computedFingerprint } }
    public var kind: ErrorKind { didSet { fingerprint = computedFingerprint } }
    public var exponentBits: ExponentBits { didSet { fingerprint = computedFingerprint } }
    /// rates[s][t] ∈ [0, 1]: fault (= error) probability of one partial product on PE (s, t).
    public private(set) var rates: [[Double]]
    public var origin: Origin
    /// SHA-256 (lowercase hex) of `canonicalText` (docs/fault-profile.md): what keys plans.
    public private(set) var fingerprint = ""

    /// Builds a profile; rates are rounded to the canonical decimal form.
    /// - Throws: `InputError(file: "fault profile")` if anything is out of range
    ///   (use `load` for files, which names the file).
    public init(geometry: Geometry, tiling: Tiling = Tiling(), kind: ErrorKind, exponentBits: ExponentBits = .low7,
                rates: [[Double]], origin: Origin) throws {
        self.geometry = geometry
        self.tiling = tiling
        self.kind = kind
        self.exponentBits = exponentBits
        self.rates = rates.map { $0.map(FaultProfile.canonicalRate) }
        self.origin = origin
        if let problem = validationProblem() { throw InputError(file: "fault profile", problem) }
        fingerprint = computedFingerprint
    }

    /// Expected failing partial products per image of a layer laid out by `map`.
    public func expectedFaultsPerImage(_ map: TileMap) -> Double {
        var expected = 0.0
        for s in 0..<map.blocks { expected += Double(map.slots(onBlock: s)) * rates[s].reduce(0, +) }
        return expected
    }

    /// The rate of PE (s, t).
    public func rate(block s: Int, thread t: Int) -> Double { rates[s][t] }

    /// Mean rate over all PEs.
    public var meanRate: Double {
        rates.reduce(0) { $0 + $1.reduce(0, +) } / Double(max(1, geometry.processingElements))
    }

    /// A rate in the fingerprint's fixed decimal form: 10 significant digits.
    public static func canonicalRate(_ p: Double) -> Double {
        guard p.isFinite else { return p }
        return CanonicalRate.value(p) + 0.0  // + 0.0 turns -0 into +0
    }

    static func canonicalRateText(_ p: Double) -> String {
        CanonicalRate.text(p)  // −0 is written as 0, like +0
    }

    /// Limits that keep every index of the simulator inside Int32 and memory sane.
    public static let maxBlocks = 1 << 16, maxThreads = 1 << 16, maxProcessingElements = 1 << 20, maxTileK = 1 << 20

    /// The first thing wrong with this profile, or nil.
    func validationProblem() -> String? {
        let b = geometry.blocks, t = geometry.threads
        if let problem = Self.geometryProblem(blocks: b, threads: t) { return problem }
        for (name, value) in [("dense_tile_k", tiling.denseTileK), ("conv_tile_k", tiling.convTileK)] {
            if let value, !(1...Self.maxTileK).contains(value) {
                return "tiling \(name) must be between 1 and \(Self.maxTileK), got \(value)"
            }
        }
        if let problem = Self.matrixProblem(rates, name: "rates", blocks: b, threads: t) { return problem }
        for (s, row) in rates.enumerated() {
            for (i, p) in row.enumerated() where !(p >= 0 && p <= 1) {
                return "rates[\(s)][\(i)] is \(p); a rate must be in [0, 1]"
            }
        }
        switch origin {
        case .synthetic(let frMax, _):
            guard frMax.isFinite, frMax >= 0, frMax <= 1 else { return "origin fr_max must be in [0, 1], got \(frMax)" }
        case .diagnosed(let d):
            guard d.confidence > 0, d.confidence < 1 else { return "origin confidence must be in (0, 1), got \(d.confidence)" }
            for (name, m) in [("samples", d.samples.map { $0.map(Double.init) }), ("errors", d.errors.map { $0.map(Double.init) }),
                              ("lower", d.lower), ("upper", d.upper)] {
                if let problem = Self.matrixProblem(m, name: "origin \(name)", blocks: b, threads: t) { return problem }
                if m.joined().contains(where: { !($0 >= 0) }) { return "origin \(name) has a negative or NaN entry" }
            }
            for s in 0..<b {
                for i in 0..<t where d.errors[s][i] > d.samples[s][i] {
                    return "origin errors[\(s)][\(i)] = \(d.errors[s][i]) exceeds samples \(d.samples[s][i])"
                }
            }
            if let v = d.visibility, !(v > 0 && v <= 1) { return "origin visibility must be in (0, 1], got \(v)" }
            for pair in d.unresolved ?? [] where !(0..<b ~= pair[0] && 0..<t ~= pair[1]) {
                return "origin unresolved lists PE \(pair) outside the geometry"
            }
        }
        return nil
    }

    /// Why a geometry cannot be simulated, or nil.
    static func geometryProblem(blocks b: Int, threads t: Int) -> String? {
        guard b > 0, t > 0 else { return "geometry must have at least 1 block and 1 thread, got \(b)×\(t)" }
        guard b <= Self.maxBlocks, t <= Self.maxThreads, b * t <= Self.maxProcessingElements else {
            return "geometry \(b)×\(t) is larger than this simulator supports (\(Self.maxProcessingElements) PEs)"
        }
        return nil
    }

    private static func matrixProblem(_ m: [[Double]], name: String, blocks: Int, threads: Int) -> String? {
        guard m.count == blocks else { return "\(name) has \(m.count) rows but the geometry has \(blocks) blocks" }
        for (s, row) in m.enumerated() where row.count != threads {
            return "\(name)[\(s)] has \(row.count) entries but the geometry has \(threads) threads per block"
        }
        return nil
    }
}
