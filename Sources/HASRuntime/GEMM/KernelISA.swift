import HASKernels

/// The instruction-set variants of the C kernels (SGEMM, conv + pool, pooling,
/// partial products, slot injection). All compute the same bits; by default
/// the best one the CPU supports runs (cpuid). Tests force each supported
/// variant in turn, so that every variant is checked, not only cpuid's pick.
public enum KernelISA: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Portable C (libm's fmaf for fused multiply-adds).
    case generic
    /// AVX2 + FMA.
    case avx2
    /// AVX-512 (F, VL, DQ, BW) on top of AVX2 + FMA.
    case avx512

    var code: Int32 {
        switch self {
        case .generic: return Int32(HAS_ISA_GENERIC)
        case .avx2: return Int32(HAS_ISA_AVX2)
        case .avx512: return Int32(HAS_ISA_AVX512)
        }
    }

    public var description: String { rawValue }

    /// Whether this CPU can run the variant.
    public var isSupported: Bool { has_isa_supported(code) != 0 }

    /// The variants this CPU can run, generic first.
    public static var supported: [KernelISA] { allCases.filter(\.isSupported) }

    /// The variant the kernels use now.
    public static var current: KernelISA { allCases.first { $0.code == has_isa() } ?? .generic }

    /// The variant forced for the whole process, or nil (cpuid decides).
    public static var forced: KernelISA? { allCases.first { $0.code == has_isa_forced() } }

    /// A variant the CPU cannot run.
    public struct UnsupportedError: Error, CustomStringConvertible {
        public let isa: KernelISA
        public var description: String { "this CPU cannot run the \(isa) kernels" }
    }

    /// Forces every kernel of the process onto `isa` (nil: back to cpuid's choice).
    /// Not to be changed while kernels run on other threads.
    public static func force(_ isa: KernelISA?) throws {
        guard has_isa_force(isa?.code ?? Int32(HAS_ISA_AUTOMATIC)) != 0 else { throw UnsupportedError(isa: isa ?? .generic) }
    }

    /// Runs `body` with the kernels forced onto `isa`, then restores the previous choice.
    public static func with<T>(_ isa: KernelISA, _ body: () throws -> T) throws -> T {
        let previous = forced
        try force(isa)
        defer { try? force(previous) }
        return try body()
    }
}
