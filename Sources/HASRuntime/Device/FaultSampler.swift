import Foundation

/// One failing partial product P(r, m, n) of one image in one layer.
public struct FaultEvent: Hashable, Sendable {
    /// r: position in the shuffled weight matrix (computes original row perm[r]).
    public var position: Int
    /// m: the K tile.
    public var kTile: Int
    /// n: GEMM column within the image (output position of a conv; 0 for dense).
    public var column: Int
    /// The PE (s, t) and its slot (see `TileMap`).
    public var block: Int
    public var thread: Int
    public var slot: Int
    /// 64 random bits owned by this fault (choose the exponent bit).
    public var draw: UInt64

    public init(position: Int, kTile: Int, column: Int, block: Int, thread: Int, slot: Int, draw: UInt64) {
        self.position = position
        self.kTile = kTile
        self.column = column
        self.block = block
        self.thread = thread
        self.slot = slot
        self.draw = draw
    }
}

/// The keys of the fault randomness (spec §3): (seed, layer, image index in the
/// data set, PE) select an independent stream; within it, the failing slots
/// follow in order. Nothing depends on batch, thread count or permutation.
public enum FaultKeys {
    /// A layer's key: FNV-1a (64-bit) of its name, so that a layer's draws do
    /// not change when other layers are made faulty or not.
    public static func layer(_ name: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// The seed of trial `trial` of a run seeded with `seed` (trial 0 is `seed` itself).
    public static func trialSeed(_ seed: UInt64, trial: Int) -> UInt64 { seed &+ UInt64(trial) }

    /// The stream of PE `pe` (= s·T + t) for one image of one layer.
    @inline(__always)
    public static func stream(seed: UInt64, layer: UInt64, image: Int, pe: Int) -> SplitMix64 {
        var h = SplitMix64.mix(seed ^ 0xFA17_5EED_0000_0001)
        h = SplitMix64.mix(h ^ layer)
        h = SplitMix64.mix(h ^ UInt64(bitPattern: Int64(image)))
        h = SplitMix64.mix(h ^ UInt64(pe))
        return SplitMix64(seed: h)
    }
}

/// Draws the failing slots of every PE of a profile, at a cost proportional to
/// the number of faults: each PE's failures are found by geometric skipping
/// (gap ~ Geometric(p), one logarithm per fault), except at high rates
/// (p ≥ 1/16) where one 64-bit comparison per slot is cheaper than a log per
/// fault. The method is a function of p alone, so results stay reproducible.
public struct FaultSampler: Sendable {
    /// How one PE's failing slots are drawn; a function of its rate alone.
    public enum Mode: Sendable {
        case never
        case always
        /// 1 / log(1 − p) (negative).
        case geometric(Double)
        /// Fail when the next 32 random bits are below ⌊p·2³²⌋ (stored as ⌊p·2⁶⁴⌋).
        case bernoulli(UInt64)

        /// Slot by slot (`.always`, `.bernoulli`): a slot fails when its 32 random bits are below this.
        @inline(__always)
        public var slotThreshold: UInt64 {
            if case .bernoulli(let t64) = self { return t64 >> 32 }
            return 1 << 32
        }
    }

    /// Geometric skipping: the number of slots that pass before the next failing one,
    /// ⌊log u / log(1 − p)⌋ for u ∈ (0, 1] from one draw of `rng`, Geometric(p) on {0, 1, …}.
    /// The one definition the simulator and the sweep share, so their draws stay the same.
    @inline(__always)
    public static func geometricGap(_ rng: inout SplitMix64, inverseLog: Double) -> Double {
        let u = Double((rng.next() >> 11) + 1) * 0x1p-53
        return log(u) * inverseLog
    }

    /// One PE's failing slots among `slots` by geometric skipping, ascending:
    /// `body(slot, draw)`, where `draw` is the fault's own 64 bits, taken from
    /// `rng` right after its gap. The one walk the simulator, its slot path and
    /// the sweep share, so their draws stay the same.
    @inline(__always)
    public static func forEachGeometricFailure(_ rng: inout SplitMix64, inverseLog: Double, slots: Int,
                                               _ body: (Int, UInt64) -> Void) {
        var j = -1
        let limit = Double(slots)
        while true {
            let gap = geometricGap(&rng, inverseLog: inverseLog)
            if gap >= limit { break }
            j += Int(gap) + 1
            if j >= slots { break }
            body(j, rng.next())
        }
    }

    public let blocks: Int
    public let threads: Int
    @usableFromInline let modes: [Mode]

    /// Rates at or above this are drawn slot by slot.
    public static let bernoulliThreshold = 1.0 / 16

    /// The drawing method for a PE of fault rate `p`.
    public static func mode(rate p: Double) -> Mode {
        if p <= 0 { return .never }
        if p >= 1 { return .always }
        if p >= bernoulliThreshold { return .bernoulli(UInt64(p * 0x1p64)) }
        return .geometric(1 / log1p(-p))
    }

    public init(profile: FaultProfile) {
        blocks = profile.geometry.blocks
        threads = profile.geometry.threads
        modes = profile.rates.joined().map(FaultSampler.mode(rate:))
    }

    /// Calls `body(block, thread, pe, mode)` for each PE that can fail in a
    /// layer laid out by `map`, in the order every fault stream is walked:
    /// thread-major (thread t of every block, then thread t + 1), PEs with
    /// no slot or a zero rate skipped. The one place that order is written.
    @inlinable @inline(__always)
    public func forEachActivePE(map: TileMap, _ body: (_ block: Int, _ thread: Int, _ pe: Int, _ mode: Mode) -> Void) {
        precondition(map.blocks == blocks && map.threads == threads, "tile map and profile geometries differ")
        if map.columns == 0 { return }
        for t in 0..<threads {
            for s in 0..<blocks where map.slots(onBlock: s) > 0 {
                let pe = s * threads + t
                let mode = modes[pe]
                if case .never = mode { continue }
                body(s, t, pe, mode)
            }
        }
    }

    /// Calls `body` for every failing partial product of image `image` (index in
    /// the data set) in a layer, PE by PE (thread t ascending, then block s), slots ascending.
    /// Idle slots (position ≥ M) never fail.
    /// - Complexity: O(PEs + faults).
    @inline(__always)
    public func forEachFault(seed: UInt64, layer: UInt64, image: Int, map: TileMap, _ body: (FaultEvent) -> Void) {
        forEachFault(seed: seed, layer: layer, images: 0..<1, imageIndex: { _ in image }, map: map) { _, e in body(e) }
    }

    /// The faults of several images at once, PE-major (thread t, block s), then
    /// image by image: each image sees exactly the events (and per-element order)
    /// of `forEachFault(image:)`, while one PE's tiles (a small part of the
    /// weights) are revisited for every image while they are in cache.
    /// - Parameters:
    ///   - images: batch positions; `imageIndex` maps one to its data-set index.
    ///   - body: called with (batch position, event).
    @inline(__always)
    public func forEachFault(seed: UInt64, layer: UInt64, images: Range<Int>, imageIndex: (Int) -> Int, map: TileMap,
                             _ handler: (Int, FaultEvent) -> Void) {
        var slotScratch: SlotScratch?
        // Thread-major: one thread's positions (rows t, t+T, …) stay together, which keeps
        // per-tile lookups in cache; an element still sees its faults in block order.
        forEachActivePE(map: map) { s, t, pe, mode in
            let slots = map.slots(onBlock: s)
            for batchIndex in images {
                let image = imageIndex(batchIndex)
                @inline(__always) func body(_ e: FaultEvent) { handler(batchIndex, e) }
                var rng = FaultKeys.stream(seed: seed, layer: layer, image: image, pe: pe)
                @inline(__always) func emit(_ j: Int, _ draw: UInt64) {
                    let w = map.work(slot: j, block: s, thread: t)
                    if w.position < map.rows {
                        body(FaultEvent(position: w.position, kTile: w.kTile, column: w.column,
                                        block: s, thread: t, slot: j, draw: draw))
                    }
                }
                switch mode {
                case .never: break
                case .always, .bernoulli:
                    // Slot by slot over the PE's active tiles (idle ones, at the end, draw nothing):
                    // 32 random bits decide a slot (the C walk, SlotScratch).
                    let active = map.activeTiles(block: s, thread: t) * map.columns
                    if slotScratch == nil { slotScratch = SlotScratch(capacity: map.slots(onBlock: 0)) }
                    let scratch = slotScratch!
                    if scratch.decide(state: rng.state, threshold: mode.slotThreshold, slots: active) > 0 {
                        let failed = scratch.failed, draws = scratch.draws
                        for j in 0..<active where failed[j] != 0 { emit(j, draws[j]) }
                    }
                case .geometric(let inverseLog):
                    FaultSampler.forEachGeometricFailure(&rng, inverseLog: inverseLog, slots: slots) { j, draw in emit(j, draw) }
                }
            }
        }
    }

    /// The failing partial products of one image in one layer, in `forEachFault` order.
    public func events(seed: UInt64, layer: UInt64, image: Int, map: TileMap) -> [FaultEvent] {
        var result: [FaultEvent] = []
        forEachFault(seed: seed, layer: layer, image: image, map: map) { result.append($0) }
        return result
    }
}
