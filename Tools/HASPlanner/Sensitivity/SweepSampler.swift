import Foundation
import HASRuntime

/// `FaultSampler.forEachFault(image:)` compiled into the sweep's loops: the
/// same streams, slots, order and draws (tested event for event; the same C
/// slot walk and geometric skipping), without a closure call and an event
/// record per fault across the module boundary — at high rates the sweep
/// spends most of its time here.
struct SweepSampler {
    typealias Mode = FaultSampler.Mode

    let blocks: Int
    let threads: Int
    let modes: [Mode]

    /// Per-worker scratch of the slot-by-slot walk.
    final class Scratch {
        private var walk: SlotScratch?

        init() {}

        func walk(capacity: Int) -> SlotScratch {
            if let walk, walk.capacity >= capacity { return walk }
            let made = SlotScratch(capacity: capacity)
            walk = made
            return made
        }
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
                    // Slot by slot over the PE's active tiles, as FaultSampler does it (the C walk).
                    let active = map.activeTiles(block: s, thread: t) * columns
                    let walk = scratch.walk(capacity: map.slots(onBlock: 0))
                    if walk.decide(state: rng.state, threshold: mode.slotThreshold, slots: active) > 0 {
                        let failed = walk.failed, draws = walk.draws
                        for j in 0..<active where failed[j] != 0 {
                            // TileMap.work(slot:block:thread:).
                            let tile = j / columns, n = j - tile * columns
                            let q = s + tile * blocks
                            let l = q / kTiles, m = q - l * kTiles
                            body(l * threads + t, m, n, draws[j])
                        }
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
