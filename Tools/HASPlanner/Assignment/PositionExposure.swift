import HASRuntime

/// How exposed each shuffled row position of a layer is to faults: the mean
/// fault rate of the PEs that compute its partial products, over all its K
/// tiles, with the tile → block → thread mapping of spec §3.
public enum PositionExposure {
    /// - Parameters:
    ///   - rates: per-PE fault rates, `rates[s * threads + t]` for block s, thread t.
    ///   - rows: M, the layer's weight rows; `k` its reduction length; `tileK` its K-tile width.
    /// - Returns: M values, one per position r.
    public static func meanRates(rates: [Double], blocks: Int, threads: Int, rows: Int, k: Int, tileK: Int) -> [Double] {
        precondition(blocks > 0 && threads > 0 && tileK > 0 && rates.count == blocks * threads)
        let tiles = max(1, (k + tileK - 1) / tileK)
        return (0..<rows).map { r in
            let l = r / threads, t = r % threads
            var sum = 0.0
            for m in 0..<tiles { sum += rates[((l * tiles + m) % blocks) * threads + t] }
            return sum / Double(tiles)
        }
    }
}
