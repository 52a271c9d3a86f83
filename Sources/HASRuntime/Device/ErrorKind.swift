/// How a faulty processing element corrupts a partial product (spec §3): an
/// operation on the IEEE-754 binary32 bit pattern.
public enum ErrorKind: String, Codable, CaseIterable, Sendable {
    /// Clear one exponent bit chosen uniformly.
    case flip0
    /// Set one exponent bit chosen uniformly.
    case flip1
    /// Toggle one exponent bit chosen uniformly.
    case bitflip
    /// Clear the 13 lowest mantissa bits (TensorFloat-32 precision).
    case tf32
    /// Clear the 16 lowest mantissa bits (bfloat16 precision).
    case bf16
    /// Replace the partial product by +0.0: what the paper's reference
    /// implementation computes for its TF32/BF16 kinds on CPU (its float→int32
    /// cast of 0xFFFFFFFF saturates, so the shifted mask is 0).
    case zero

    /// The FR_max values the paper sweeps for this kind (Figs. 4–6).
    public var paperFRMax: [Double] {
        switch self {
        case .flip1, .bitflip: return [1e-3, 2e-3, 5e-3]
        case .flip0, .tf32, .bf16, .zero: return [0.1, 0.2, 0.5]
        }
    }

    /// Whether the kind picks an exponent bit (and so uses the draw).
    public var choosesExponentBit: Bool { self == .flip0 || self == .flip1 || self == .bitflip }

    /// Applies the error to a binary32 pattern.
    ///
    /// - Parameters:
    ///   - bits: the pattern of the clean partial product.
    ///   - draw: 64 random bits owned by this fault; the high 32 choose the
    ///     exponent bit uniformly among `exponentBits` (bit 23 + i of the word).
    /// - Returns: the corrupted pattern.
    ///
    /// `@inlinable` so that the planner's hot loops use this one definition.
    @inlinable @inline(__always)
    public func corrupt(_ bits: UInt32, draw: UInt64, exponentBits: ExponentBits = .low7) -> UInt32 {
        switch self {
        case .flip0: return bits & ~Self.exponentMask(draw: draw, exponentBits: exponentBits)
        case .flip1: return bits | Self.exponentMask(draw: draw, exponentBits: exponentBits)
        case .bitflip: return bits ^ Self.exponentMask(draw: draw, exponentBits: exponentBits)
        case .tf32: return bits & ~UInt32(0x1FFF)
        case .bf16: return bits & ~UInt32(0xFFFF)
        case .zero: return 0
        }
    }

    /// `corrupt` on a float value.
    @inlinable @inline(__always)
    public func corrupt(_ value: Float, draw: UInt64, exponentBits: ExponentBits = .low7) -> Float {
        Float(bitPattern: corrupt(value.bitPattern, draw: draw, exponentBits: exponentBits))
    }

    /// Exponent bit i (0-based inside the exponent field) chosen by `draw`:
    /// i = ⌊hi32(draw) · count / 2³²⌋, uniform over the allowed bits.
    @inlinable @inline(__always)
    public static func exponentBit(draw: UInt64, exponentBits: ExponentBits) -> Int {
        Int(((draw >> 32) &* UInt64(exponentBits.count)) >> 32)
    }

    @usableFromInline @inline(__always)
    static func exponentMask(draw: UInt64, exponentBits: ExponentBits) -> UInt32 {
        UInt32(1) << UInt32(23 + exponentBit(draw: draw, exponentBits: exponentBits))
    }
}

/// Which exponent bits a flip/bitflip fault may hit.
public enum ExponentBits: String, Codable, CaseIterable, Sendable {
    /// Exponent bits 0–6 (bits 23–29 of the word): the paper's reference
    /// implementation, and the default.
    case low7 = "0-6"
    /// All 8 exponent bits (bits 23–30).
    case all8 = "0-7"

    /// How many bits the choice is among.
    @inlinable
    public var count: Int { self == .low7 ? 7 : 8 }
}
