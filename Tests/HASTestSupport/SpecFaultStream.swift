import Foundation

/// The fault randomness of docs/fault-profile.md ("Randomness"), implemented
/// from its text for the tests' reference, independently of the runtime's
/// `SplitMix64`, `FaultKeys` and `FaultSampler` (both are checked against the
/// golden vectors of Tools/golden/fault_stream.py).
public enum SpecFaultStream {
    /// SplitMix64, kept as a plain state.
    public struct Generator {
        public var state: UInt64
        public init(state: UInt64) { self.state = state }
        public mutating func next() -> UInt64 {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            return Generator.finalise(state)
        }
        public static func finalise(_ value: UInt64) -> UInt64 {
            let a = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            let b = (a ^ (a >> 27)) &* 0x94D0_49BB_1331_11EB
            return b ^ (b >> 31)
        }
    }

    /// FNV-1a (64-bit) of the layer's name.
    public static func layerKey(_ name: String) -> UInt64 {
        name.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }

    /// The generator of one (seed, layer, image, PE = s·T + t).
    public static func generator(seed: UInt64, layer: String, image: Int, pe: Int) -> Generator {
        let keys = [layerKey(layer), UInt64(bitPattern: Int64(image)), UInt64(pe)]
        let state = keys.reduce(Generator.finalise(seed ^ 0xFA17_5EED_0000_0001)) { Generator.finalise($0 ^ $1) }
        return Generator(state: state)
    }

    /// A failing slot of one PE and the 64 bits it owns.
    public struct Failure: Equatable, Sendable {
        public var slot: Int
        public var draw: UInt64
        public init(slot: Int, draw: UInt64) { self.slot = slot; self.draw = draw }
    }

    /// The failing slots of PE (s, t) with fault rate `rate`, in slot order, those
    /// at idle positions (r ≥ M) left out.
    public static func failures(seed: UInt64, layer: String, image: Int, block s: Int, thread t: Int, rate: Double,
                                geometry g: SpecGeometry) -> [Failure] {
        guard rate > 0, g.columns > 0 else { return [] }
        var rng = generator(seed: seed, layer: layer, image: image, pe: s * g.threads + t)
        let tiles = g.tileCount(block: s)
        func idle(_ tile: Int) -> Bool { g.position(rowBlock: g.tile(tile, block: s).l, thread: t) >= g.rows }
        var found: [Failure] = []
        if rate >= 1.0 / 16 {
            // One 32-bit half per slot, low half of each word first; idle tiles take none.
            let threshold: UInt64 = rate >= 1 ? 1 << 32 : UInt64(rate * 0x1p64) >> 32
            var pending: UInt64?
            for tile in 0..<tiles where !idle(tile) {
                for n in 0..<g.columns {
                    let half: UInt64
                    if let high = pending {
                        half = high
                        pending = nil
                    } else {
                        let word = rng.next()
                        half = word & 0xFFFF_FFFF
                        pending = word >> 32
                    }
                    if half < threshold { found.append(Failure(slot: tile * g.columns + n, draw: rng.next())) }
                }
            }
            return found
        }
        // Geometric skipping over all the PE's slots; a failure at an idle position is drawn, then dropped.
        let slots = tiles * g.columns
        let scale = 1 / log1p(-rate)
        var slot = -1
        while true {
            let u = Double((rng.next() >> 11) + 1) * 0x1p-53
            let gap = log(u) * scale
            if gap >= Double(slots) { break }
            slot += Int(gap) + 1
            if slot >= slots { break }
            let draw = rng.next()
            if !idle(slot / g.columns) { found.append(Failure(slot: slot, draw: draw)) }
        }
        return found
    }
}
