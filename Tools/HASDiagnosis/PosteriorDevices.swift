import Foundation
import HASRuntime

/// Devices drawn from what a diagnosis knows: each PE's rate from its
/// posterior given the counts in the profile's origin, so that a plan can be
/// made robust to the diagnosis' uncertainty (`has-plan --robust K`).
///
/// A PE showed k wrong products out of n counted, each wrong with probability
/// p·v (v: the counted values' visibility), so with Jeffreys' prior
/// p·v ~ Beta(k + ½, n − k + ½) and p = that / v, capped at 1.
public enum PosteriorDevices {
    /// `count` devices; the same profile and seed give the same devices.
    /// - Throws: `InputError` if the profile was not diagnosed (synthetic rates have no posterior).
    public static func draw(from profile: FaultProfile, count: Int, seed: UInt64, file: String = "--profile") throws -> [FaultProfile] {
        guard case .diagnosed(let d) = profile.origin else {
            throw InputError(file: file, "--robust needs a diagnosed profile (origin \"diagnosed\" with sample counts); "
                             + "this one is synthetic")
        }
        let visibility = d.visibility ?? 1
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x0B05_7E41_02D1_CE5E))
        return try (0..<count).map { _ in
            let rates = d.samples.indices.map { s in
                d.samples[s].indices.map { t -> Double in
                    let n = Double(d.samples[s][t]), k = Double(d.errors[s][t])
                    return min(1, beta(k + 0.5, n - k + 0.5, &rng) / visibility)
                }
            }
            return try FaultProfile(geometry: profile.geometry, tiling: profile.tiling, kind: profile.kind,
                                    exponentBits: profile.exponentBits, rates: rates, origin: profile.origin)
        }
    }

    /// Beta(a, b) as X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b).
    static func beta(_ a: Double, _ b: Double, _ rng: inout SplitMix64) -> Double {
        let x = gamma(a, &rng), y = gamma(b, &rng)
        return x + y > 0 ? x / (x + y) : 0
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (2000); shapes below 1 through
    /// Gamma(shape + 1)·U^(1/shape).
    static func gamma(_ shape: Double, _ rng: inout SplitMix64) -> Double {
        if shape < 1 { return gamma(shape + 1, &rng) * pow(uniform(&rng), 1 / shape) }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0, v = 0.0
            repeat {
                x = normal(&rng)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = uniform(&rng)
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// Uniform in (0, 1].
    static func uniform(_ rng: inout SplitMix64) -> Double { Double((rng.next() >> 11) + 1) * 0x1p-53 }

    /// Standard normal by Box–Muller (one of the pair).
    static func normal(_ rng: inout SplitMix64) -> Double {
        (-2 * log(uniform(&rng))).squareRoot() * cos(2 * Double.pi * uniform(&rng))
    }
}
