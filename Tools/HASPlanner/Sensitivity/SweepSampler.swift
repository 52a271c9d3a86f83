import Foundation
import HASRuntime

/// `FaultSampler.forEachFault(image:)` compiled into the sweep's loops: the
/// same streams, slots, order and draws (tested event for event; the same C
/// slot walk and geometric skipping), without a closure call and an event
/// record per fault across the module boundary — at high rates the sweep
/// spends most of its time here.
struct SweepSampler {
    /// The modes and the PE order (`forEachActivePE`) are the sampler's own.
    let sampler: FaultSampler

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

    init(profile: FaultProfile) { sampler = FaultSampler(profile: profile) }

    /// Calls `body(position, kTile, column, draw)` for every failing partial
    /// product of one image, in `FaultSampler`'s order (thread t, block s, slots ascending).
    @inline(__always)
    func forEachFault(seed: UInt64, layer: UInt64, image: Int, map: TileMap, scratch: Scratch,
                      _ body: (Int, Int, Int, UInt64) -> Void) {
        let columns = map.columns, rows = map.rows
        sampler.forEachActivePE(map: map) { s, t, pe, mode in
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
                        let w = map.work(slot: j, block: s, thread: t)
                        body(w.position, w.kTile, w.column, draws[j])
                    }
                }
            case .geometric(let inverseLog):
                FaultSampler.forEachGeometricFailure(&rng, inverseLog: inverseLog, slots: map.slots(onBlock: s)) { j, draw in
                    let w = map.work(slot: j, block: s, thread: t)
                    if w.position < rows { body(w.position, w.kTile, w.column, draw) }
                }
            }
        }
    }
}
