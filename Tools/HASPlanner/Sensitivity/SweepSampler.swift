import Foundation
import HASRuntime

/// `FaultSampler.forEachFault(image:)` compiled into the sweep's loops: the
/// same streams, slots, order and draws (tested event for event), without a
/// closure call and an event record per fault across the module boundary —
/// at high rates the sweep spends most of its time here.
struct SweepSampler {
    typealias Mode = FaultSampler.Mode

    let blocks: Int
    let threads: Int
    let modes: [Mode]

    /// A fault found slot by slot, before its body runs.
    struct Candidate {
        var position: Int32
        var kTile: Int32
        var column: Int32
        var draw: UInt64
    }

    /// Per-worker buffer of candidates.
    final class Scratch {
        private(set) var buffer = UnsafeMutablePointer<Candidate>.allocate(capacity: 1)
        private var capacity = 1

        init() {}
        deinit { buffer.deallocate() }

        func reserve(_ count: Int) -> UnsafeMutablePointer<Candidate> {
            if count > capacity {
                buffer.deallocate()
                buffer = .allocate(capacity: count)
                capacity = count
            }
            return buffer
        }
    }

    /// SplitMix64's increment and finaliser (`SplitMix64.next`), here so that they inline.
    static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The modes `FaultSampler` picks for the same rates.
    init(profile: FaultProfile) {
        blocks = profile.geometry.blocks
        threads = profile.geometry.threads
        modes = profile.rates.joined().map(FaultSampler.mode(rate:))
    }

    /// Calls `body(position, kTile, column, draw)` for every failing partial
    /// product of one image, in `FaultSampler`'s order (thread t, block s, slots ascending).
    @inline(__always)
    func forEachFault(seed: UInt64, layer: UInt64, image: Int, map: TileMap, scratch: Scratch,
                      _ body: (Int, Int, Int, UInt64) -> Void) {
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
                    // Slot by slot as FaultSampler does it, but without a branch on the
                    // (unpredictable) outcome: every slot writes its candidate fault, and
                    // the count and the stream move on only when it fails.
                    let threshold = mode.slotThreshold
                    let candidates = scratch.reserve(slots + 1)
                    var state = rng.state, count = 0
                    var bitsLeft = 0, word: UInt64 = 0
                    var l = s / kTiles, m = s - (s / kTiles) * kTiles
                    let oneWrap = blocks < kTiles
                    for tile in 0..<(slots / columns) {
                        if tile > 0 {
                            m += blocks
                            if oneWrap {
                                let wraps = m >= kTiles
                                m -= wraps ? kTiles : 0
                                l += wraps ? 1 : 0
                            } else {
                                while m >= kTiles { m -= kTiles; l += 1 }
                            }
                        }
                        let r = l * threads + t
                        if r >= rows { continue }
                        for n in 0..<columns {
                            if bitsLeft == 0 {
                                state &+= SweepSampler.golden
                                word = SweepSampler.mix(state)
                                bitsLeft = 2
                            }
                            let u = word & 0xFFFF_FFFF
                            word >>= 32
                            bitsLeft -= 1
                            // The draw is the stream's next value: its state is kept, mixed only for real faults.
                            candidates[count] = Candidate(position: Int32(truncatingIfNeeded: r), kTile: Int32(truncatingIfNeeded: m),
                                                          column: Int32(truncatingIfNeeded: n), draw: state &+ SweepSampler.golden)
                            let fails = u < threshold
                            count &+= fails ? 1 : 0
                            state &+= fails ? SweepSampler.golden : 0
                        }
                    }
                    for f in 0..<count {
                        let c = candidates[f]
                        body(Int(c.position), Int(c.kTile), Int(c.column), SweepSampler.mix(c.draw))
                    }
                case .geometric(let inverseLog):
                    FaultSampler.forEachGeometricFailure(&rng, inverseLog: inverseLog, slots: slots) { j, draw in
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
