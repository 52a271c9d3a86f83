/// Spec §3's error kinds on a binary32 pattern, with docs/fault-profile.md's
/// choice of the exponent bit, written apart from the runtime's `ErrorKind.corrupt`.
public enum SpecCorruption {
    /// `pattern` corrupted as `kind` says; `draw` is the fault's 64 bits, `exponentBits` 7 or 8.
    public static func apply(_ kind: String, to pattern: UInt32, draw: UInt64, exponentBits: Int) -> UInt32 {
        // Exponent bit i = ⌊hi32(draw)·n / 2³²⌋, word bit 23 + i.
        let i = ((draw >> 32) * UInt64(exponentBits)) >> 32
        let bit = UInt32(1) << (23 + UInt32(i))
        switch kind {
        case "flip0": return pattern & ~bit
        case "flip1": return pattern | bit
        case "bitflip": return pattern ^ bit
        case "tf32": return pattern & 0xFFFF_E000
        case "bf16": return pattern & 0xFFFF_0000
        case "zero": return 0
        default: preconditionFailure("unknown error kind \(kind)")
        }
    }
}
