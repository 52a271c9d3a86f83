import Foundation
import HASRuntime

/// How large a network's partial products get on real inputs, layer by layer.
///
/// Why it matters: a fault hits a partial product P (the sum over one K tile,
/// spec §3). Setting or toggling exponent bit 0–6 of |P| < 2 (exponent ≤ 127)
/// moves it by a binade or two, but from |P| ≥ 2 (exponent 128) setting bit 6
/// multiplies it by 2⁶⁴. So the share of |P| ≥ 2 is what makes a layer
/// sensitive to flip1/bitflip, and training does not fix it (docs/training.md).
public struct PartialProductRanges: Sendable {
    public struct Layer: Codable, Equatable, Sendable {
        public var name: String
        public var tileK: Int
        /// Largest |w| of the layer's weights.
        public var weightMaxAbs: Float
        /// Partial products measured (rows × K tiles × columns × images).
        public var products: Int
        /// Quantiles of |P| (upper edge of a histogram bin: 1/16 binade).
        public var median: Float, p99: Float, p999: Float
        /// Largest |P| seen.
        public var maxAbs: Float
        /// Partial products with |P| ≥ 2, and their share.
        public var atLeastTwo: Int
        public var shareAtLeastTwo: Double
    }

    /// |P| binned by its bit pattern's top 4 mantissa bits: 16 bins per binade.
    struct Histogram {
        var counts = [Int](repeating: 0, count: 1 << 12)
        var total = 0, atLeastTwo = 0
        var maxAbs: Float = 0

        mutating func add(_ p: Float) {
            let a = abs(p)
            counts[Int(a.bitPattern >> 19) & 0xFFF] += 1
            total += 1
            if a >= 2 { atLeastTwo += 1 }
            if a > maxAbs || a.isNaN { maxAbs = a }
        }

        mutating func merge(_ other: Histogram) {
            for i in counts.indices { counts[i] += other.counts[i] }
            total += other.total
            atLeastTwo += other.atLeastTwo
            maxAbs = max(maxAbs, other.maxAbs)
        }

        /// The upper edge of the bin holding quantile q.
        func quantile(_ q: Double) -> Float {
            let target = Int((Double(total) * q).rounded(.up))
            var seen = 0
            for (bin, count) in counts.enumerated() {
                seen += count
                // Bin 0 holds 0 and the smallest subnormals: report 0.
                if seen >= max(1, target) { return bin == 0 ? 0 : Float(bitPattern: UInt32(bin + 1) << 19) }
            }
            return maxAbs
        }
    }

    public let layers: [Layer]

    /// Runs `input` through `network` and measures every weighted layer's
    /// partial products with the device's K tiles (`tiling`).
    public init(network: Network, input: Tensor, tiling: FaultProfile.Tiling = .init(), threads: Int) {
        let deviceLayers = network.deviceLayers
        // The hook may run on several workers at once.
        final class Totals: @unchecked Sendable {
            let lock = NSLock()
            var histograms = [String: Histogram]()
            var weightMax = [String: Float]()
        }
        let totals = Totals()
        var options = ForwardOptions(threads: threads)
        options.afterGEMM = { event in
            let s = event.shape
            let device = deviceLayers.first { $0.name == event.layerName }!
            let tileK = tiling.tileK(for: s, isConvolution: device.isConvolution)
            let w = event.weights
            var local = Histogram()
            // The weights are the same for every batch: scan them for the layer's first one only.
            var wmax: Float = 0
            if totals.lock.withLock({ totals.weightMax[event.layerName] == nil }) {
                for i in 0..<(s.m * s.k) { wmax = max(wmax, abs(w[i])) }
            }
            for image in 0..<event.batchSize {
                let b = event.input(image)
                for r in 0..<s.m {
                    let row = w + r * s.k
                    for start in stride(from: 0, to: s.k, by: tileK) {
                        let end = min(start + tileK, s.k)
                        for n in 0..<s.columnsPerImage {
                            // The FMA chain over the tile from 0, as the device computes P.
                            var p: Float = 0
                            for k in start..<end { p = p.addingProduct(row[k], b[k * event.bRowStride + n * event.bColStride]) }
                            local.add(p)
                        }
                    }
                }
            }
            totals.lock.withLock {
                totals.histograms[event.layerName, default: Histogram()].merge(local)
                totals.weightMax[event.layerName] = max(totals.weightMax[event.layerName] ?? 0, wmax)
            }
        }
        _ = network.logits(input, options: options)
        let weightMax = totals.weightMax
        layers = deviceLayers.map { layer in
            let h = totals.histograms[layer.name] ?? Histogram()
            return Layer(name: layer.name, tileK: tiling.tileK(for: layer.shape, isConvolution: layer.isConvolution),
                         weightMaxAbs: weightMax[layer.name] ?? 0, products: h.total,
                         median: h.quantile(0.5), p99: h.quantile(0.99), p999: h.quantile(0.999), maxAbs: h.maxAbs,
                         atLeastTwo: h.atLeastTwo, shareAtLeastTwo: h.total == 0 ? 0 : Double(h.atLeastTwo) / Double(h.total))
        }
    }
}
