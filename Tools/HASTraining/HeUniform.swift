import HASRuntime

/// He-uniform initialisation (He et al. 2015): W ~ U(−√(6/fan_in), √(6/fan_in)),
/// as Keras' `he_uniform`; biases start at zero.
public enum HeUniform {
    /// `count` weights for a layer with `fanIn` inputs per output, drawn from
    /// a stream keyed by (seed, layer name) so that layers do not share draws.
    public static func weights(count: Int, fanIn: Int, seed: UInt64, layer: String) -> [Float] {
        let limit = (6 / Float(fanIn)).squareRoot()
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ stableHash(layer)))
        return (0..<count).map { _ in rng.nextSignedUnit() * limit }
    }

    /// FNV-1a of the UTF-8 bytes: a hash that, unlike `Hasher`, is the same in every run.
    static func stableHash(_ s: String) -> UInt64 {
        s.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
