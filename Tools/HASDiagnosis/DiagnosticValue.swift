import HASRuntime

/// The values diagnostic GEMMs compute: C = A·B with A all ones and K = 1, so
/// every output element is one partial product equal to a chosen value, exact
/// on any device. Two values cover every error kind of spec §3: both have all
/// 23 mantissa bits set (every truncation changes them, tf32 and bf16
/// differently), and their exponent fields are complements in bits 0–6, so a
/// flip-to-1 or flip-to-0 of any exponent bit shows on one of them.
public enum DiagnosticValue: Int, CaseIterable, Codable, Sendable {
    /// 1.9999999 (0x3FFFFFFF): exponent field 0111_1111.
    case lowExponent = 0
    /// 3.9999998 (0x407FFFFF): exponent field 1000_0000.
    case highExponent = 1

    public var bits: UInt32 { self == .lowExponent ? 0x3FFF_FFFF : 0x407F_FFFF }
    public var value: Float { Float(bitPattern: bits) }

    /// Every wrong output a device can give for this value, under any kind,
    /// exponent-bit choice and accumulation: the index of an observation in
    /// `KindEvidence`. The last index stands for anything else.
    public var observations: [UInt32] { Self.tables[rawValue] }

    private static let tables: [[UInt32]] = allCases.map { value in
        var seen: [UInt32] = []
        for (kind, bits) in FaultModel.kindsAndBits {
            for accumulation in FaultModel.Accumulation.allCases {
                for o in FaultModel(kind: kind, exponentBits: bits, accumulation: accumulation).outputs(of: value)
                where o != value.bits && !seen.contains(o) {
                    seen.append(o)
                }
            }
        }
        return seen
    }

    /// Index of `observed` in `observations`, or `observations.count` for an unknown output.
    public func observationIndex(_ observed: UInt32) -> Int {
        observations.firstIndex(of: observed) ?? observations.count
    }

    /// The fraction of `model`'s faults that change this value's output.
    public func visibility(_ model: FaultModel) -> Double {
        let outputs = model.outputs(of: self)
        return Double(outputs.filter { $0 != bits }.count) / Double(outputs.count)
    }
}

/// What a device does to a faulty partial product, as far as diagnosis can
/// tell: the error kind, the exponent bits it may hit, and how the corrupted
/// product reaches C.
public struct FaultModel: Hashable, Codable, Sendable, CustomStringConvertible {
    /// How the corrupted product P̃ reaches C in a one-tile GEMM.
    public enum Accumulation: String, CaseIterable, Codable, Sendable {
        /// C = P̃: the device sums corrupted products (spec §3, a real device).
        case exact
        /// C = P + (P̃ − P) in float: how HAS's simulator applies a fault to the
        /// clean GEMM's output (docs/fault-profile.md, "Injection").
        case corrected
    }

    public var kind: ErrorKind
    public var exponentBits: ExponentBits
    public var accumulation: Accumulation

    public init(kind: ErrorKind, exponentBits: ExponentBits, accumulation: Accumulation) {
        self.kind = kind
        self.exponentBits = exponentBits
        self.accumulation = accumulation
    }

    /// Every (kind, exponent bits) a device may have; the bits matter only to kinds that choose one.
    public static var kindsAndBits: [(ErrorKind, ExponentBits)] {
        ErrorKind.allCases.flatMap { kind in
            kind.choosesExponentBit ? ExponentBits.allCases.map { (kind, $0) } : [(kind, ExponentBits.low7)]
        }
    }

    public static var all: [FaultModel] {
        kindsAndBits.flatMap { kind, bits in Accumulation.allCases.map { FaultModel(kind: kind, exponentBits: bits, accumulation: $0) } }
    }

    /// The equally likely outputs of a one-tile GEMM whose product `value` is
    /// faulty: one per exponent bit the kind may choose, or the one result of a
    /// truncation. Goes through `ErrorKind.corrupt` itself.
    public func outputs(of value: DiagnosticValue) -> [UInt32] {
        let corrupted: [UInt32]
        if kind.choosesExponentBit {
            let n = UInt64(exponentBits.count)
            corrupted = (0..<n).map { i in
                // The smallest high word h with ⌊h·n / 2³²⌋ = i selects bit i.
                let high = (i << 32 + n - 1) / n
                return kind.corrupt(value.bits, draw: high << 32, exponentBits: exponentBits)
            }
        } else {
            corrupted = [kind.corrupt(value.bits, draw: 0, exponentBits: exponentBits)]
        }
        switch accumulation {
        case .exact: return corrupted
        case .corrected:
            let p = value.value
            return corrupted.map { (p + (Float(bitPattern: $0) - p)).bitPattern }
        }
    }

    /// The diagnostic values on which this model's faults are most visible, and that
    /// visibility: what rates are estimated from, and what the estimate phase computes.
    /// (Looked up: estimates ask it for every PE.)
    public var mostVisible: (values: [DiagnosticValue], visibility: Double) { Self.mostVisibleTable[self]! }

    private static let mostVisibleTable: [FaultModel: (values: [DiagnosticValue], visibility: Double)] =
        Dictionary(uniqueKeysWithValues: all.map { model in
            let visibility = DiagnosticValue.allCases.map { $0.visibility(model) }
            let best = visibility.max()!
            return (model, (DiagnosticValue.allCases.filter { visibility[$0.rawValue] == best }, best))
        })

    public var description: String {
        kind.rawValue + (kind.choosesExponentBit ? " (exponent bits \(exponentBits.rawValue))" : "")
    }
}
