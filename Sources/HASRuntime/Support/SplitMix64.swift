import HASKernels

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, and the
/// mixing function used to derive independent streams from structured keys.
/// The arithmetic is HASSplitMix.h's, shared with the C kernels.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= SplitMix64.gamma
        return SplitMix64.mix(state)
    }

    /// The increment added to the state before each output.
    public static let gamma: UInt64 = HAS_SPLITMIX_GAMMA

    /// The SplitMix64 finaliser: a bijective avalanche of 64 bits.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 { has_splitmix_mix(x) }

    /// Uniform in [0, 1) with 24 random bits (exact in Float).
    @inline(__always)
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [-1, 1).
    public mutating func nextSignedUnit() -> Float { nextUnitFloat() * 2 - 1 }
}
