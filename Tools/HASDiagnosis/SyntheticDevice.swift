import HASRuntime

extension FaultProfile {
    /// A synthetic device the paper's way (§4.2): p ~ Uniform(0, FR_max) per PE,
    /// from `seed`; the same arguments give the same profile and fingerprint.
    /// The device to diagnose, simulate and plan for when no real one is at hand.
    public static func synthetic(kind: ErrorKind, frMax: Double, seed: UInt64,
                                 blocks: Int = Geometry.paper.blocks, threads: Int = Geometry.paper.threads,
                                 exponentBits: ExponentBits = .low7, tiling: Tiling = Tiling()) throws -> FaultProfile {
        guard frMax.isFinite, frMax >= 0, frMax <= 1 else {
            throw InputError(file: "--fr-max", "FR_max must be in [0, 1], got \(frMax)")
        }
        guard blocks > 0, threads > 0 else {
            throw InputError(file: "fault profile", "geometry must have at least 1 block and 1 thread, got \(blocks)×\(threads)")
        }
        // A stream of its own per seed; PEs in (block, thread) order.
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x5EED_FA17_D3F1_CE00))
        let rates = (0..<blocks).map { _ in
            (0..<threads).map { _ in frMax * (Double(rng.next() >> 11) * 0x1p-53) }
        }
        return try FaultProfile(geometry: Geometry(blocks: blocks, threads: threads), tiling: tiling, kind: kind,
                                exponentBits: exponentBits, rates: rates, origin: .synthetic(frMax: frMax, seed: seed))
    }
}
