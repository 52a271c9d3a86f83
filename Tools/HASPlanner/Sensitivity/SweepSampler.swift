import Foundation
import HASRuntime

/// `FaultSampler.forEachFault(image:)` compiled into the sweep's loops: the
/// same streams, slots, order and draws (tested event for event), without a
/// closure call and an event record per fault across the module boundary —
/// at high rates the sweep spends most of its time here.
struct SweepSampler {
    enum Mode {
        case never
        case always
        /// 1 / log(1 − p) (negative).
        case geometric(Double)
        /// Fail when the next 32 random bits are below ⌊p·2³²⌋ (stored as ⌊p·2⁶⁴⌋).
        case bernoulli(UInt64)
    }

    let blocks: Int
    let threads: Int
    let modes: [Mode]

    /// The modes `FaultSampler` picks for the same rates.
    init(profile: FaultProfile) {
        blocks = profile.geometry.blocks
        threads = profile.geometry.threads
        modes = profile.rates.joined().map { p in
            if p <= 0 { return .never }
            if p >= 1 { return .always }
            if p >= FaultSampler.bernoulliThreshold { return .bernoulli(UInt64(p * 0x1p64)) }
            return .geometric(1 / log1p(-p))
        }
    }

    /// Calls `body(position, kTile, column, draw)` for every failing partial
    /// product of one image, in `FaultSampler`'s order (thread t, block s, slots ascending).
    @inline(__always)
    func forEachFault(seed: UInt64, layer: UInt64, image: Int, map: TileMap, _ body: (Int, Int, Int, UInt64) -> Void) {
        precondition(map.blocks == blocks && map.threads == threads, "tile map and profile geometries differ")
        if map.columns == 0 { return }
        let kTiles = map.kTiles, columns = map.columns, rows = map.rows
        for t in 0..<threads {
            for s in 0..<blocks {
                let slots = map.slots(onBlock: s)
                if slots == 0 { continue }
                let pe = s * threads + t
                let mode = modes[pe]
                var rng = FaultKeys.stream(seed: seed, layer: layer, image: image, pe: pe)
                switch mode {
                case .never: break
                case .always, .bernoulli:
                    var threshold: UInt64 = 1 << 32
                    if case .bernoulli(let t64) = mode { threshold = t64 >> 32 }
                    var bitsLeft = 0, word: UInt64 = 0
                    var l = s / kTiles, m = s - (s / kTiles) * kTiles
                    for tile in 0..<(slots / columns) {
                        if tile > 0 {
                            m += blocks
                            while m >= kTiles { m -= kTiles; l += 1 }
                        }
                        let r = l * threads + t
                        if r >= rows { continue }
                        for n in 0..<columns {
                            if bitsLeft == 0 { word = rng.next(); bitsLeft = 2 }
                            let u = word & 0xFFFF_FFFF
                            word >>= 32
                            bitsLeft -= 1
                            if u < threshold { body(r, m, n, rng.next()) }
                        }
                    }
                case .geometric(let inverseLog):
                    var j = -1
                    let limit = Double(slots)
                    while true {
                        let u = Double((rng.next() >> 11) + 1) * 0x1p-53
                        let gap = log(u) * inverseLog
                        if gap >= limit { break }
                        j += Int(gap) + 1
                        if j >= slots { break }
                        let draw = rng.next()
                        // TileMap.work(slot:block:thread:).
                        let tile = j / columns, n = j - tile * columns
                        let q = s + tile * blocks
                        let l = q / kTiles, m = q - l * kTiles
                        let r = l * threads + t
                        if r < rows { body(r, m, n, draw) }
                    }
                }
            }
        }
    }
}
