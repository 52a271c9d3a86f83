import Foundation
import HASRuntime
import HASTestSupport
import XCTest

/// The fault sampler: observed rates, keys, common random numbers.
final class SamplingTests: XCTestCase {
    /// The central 99.9% range of Binomial(n, p): counts c with P(X < c) ≥ 0.0005 … P(X > c) ≥ 0.0005.
    func binomialInterval(n: Int, p: Double) -> ClosedRange<Int> {
        if p == 0 { return 0...0 }
        if p == 1 { return n...n }
        func logPMF(_ k: Int) -> Double {
            lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
                + Double(k) * log(p) + Double(n - k) * log1p(-p)
        }
        var cumulative = 0.0, lower = 0
        for k in 0...n {
            cumulative += exp(logPMF(k))
            if cumulative > 0.0005 { lower = k; break }
        }
        cumulative = 0
        var upper = n
        for k in stride(from: n, through: 0, by: -1) {
            cumulative += exp(logPMF(k))
            if cumulative > 0.0005 { upper = k; break }
        }
        return lower...upper
    }

    func testObservedRatesAreInsideBinomialIntervals() throws {
        // 16 PEs covering both sampling methods (geometric below 1/16, per-slot above), zero and one.
        let rates: [Double] = [0, 1e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.03, 0.06, 0.0625, 0.1, 0.2, 0.3, 0.5, 0.8, 0.99, 1]
        let profile = try FaultProfile(geometry: .init(blocks: 2, threads: 8), kind: .flip1,
                                       rates: [Array(rates[0..<8]), Array(rates[8..<16])], origin: .synthetic(frMax: 1, seed: 0))
        let sampler = FaultSampler(profile: profile)
        // A conv-like layer: M = 8 rows (one row block), K = 4 tiles → 2 tiles per block; 50 columns per image.
        let map = TileMap(rows: 8, depth: 16, columns: 50, tileK: 4, blocks: 2, threads: 8)
        var counts = [Int](repeating: 0, count: 16)
        var slots = [Set<Int>](repeating: [], count: 16)
        let images = 2000
        for image in 0..<images {
            slots = slots.map { _ in [] }
            sampler.forEachFault(seed: 11, layer: FaultKeys.layer("c0"), image: image, map: map) { e in
                let pe = e.block * 8 + e.thread
                XCTAssertTrue(slots[pe].insert(e.slot).inserted, "a slot fails twice")
                XCTAssertEqual(map.slot(position: e.position, kTile: e.kTile, column: e.column).slot, e.slot)
                counts[pe] += 1
            }
        }
        let perPE = images * map.slots(onBlock: 0)  // 2 tiles × 50 columns × 2000 images = 200,000
        XCTAssertEqual(perPE, 200_000)
        for pe in 0..<16 {
            let interval = binomialInterval(n: perPE, p: profile.rates[pe / 8][pe % 8])
            XCTAssertTrue(interval.contains(counts[pe]), "PE \(pe) rate \(rates[pe]): \(counts[pe]) not in \(interval)")
        }
    }

    func testKeysSeparateSeedsLayersImagesAndPEs() throws {
        let profile = try TestNetworks.profile(kind: .bitflip, blocks: 4, threads: 8, everywhere: 0.01)
        let sampler = FaultSampler(profile: profile)
        let map = TileMap(rows: 32, depth: 256, columns: 1, tileK: 32, blocks: 4, threads: 8)
        func slots(seed: UInt64 = 1, layer: String = "h0", image: Int = 0) -> [[Int]] {
            sampler.events(seed: seed, layer: FaultKeys.layer(layer), image: image, map: map).map { [$0.block, $0.thread, $0.slot] }
        }
        let base = slots()
        XCTAssertEqual(slots(), base)
        XCTAssertFalse(base.isEmpty)
        for other in [slots(seed: 2), slots(layer: "h1"), slots(image: 1)] { XCTAssertNotEqual(other, base) }
        XCTAssertEqual(FaultKeys.trialSeed(7, trial: 0), 7)
        XCTAssertNotEqual(FaultKeys.layer("h0"), FaultKeys.layer("h1"))
    }

    /// Common random numbers: two permutations meet the same failing (PE, slot, draw); only the rows differ.
    func testFailingSlotsDoNotDependOnThePermutation() throws {
        for network in [try TestNetworks.denseNet(), try TestNetworks.convNet()] {
            let layer = network.deviceLayers[0]
            let profile = try TestNetworks.profile(kind: .bitflip, blocks: 3, threads: 8, everywhere: 0.05)
            let images = TestNetworks.images(6, for: network)
            var rng = SplitMix64(seed: 8)
            var runs: [[FaultInjector.Correction]] = []
            for p in 0..<2 {
                var perm = (0..<Int32(layer.shape.m)).map { $0 }
                if p == 1 { perm.shuffle(using: &rng) }
                let injector = try FaultInjector(network: network, profile: profile, faultyLayers: [layer.name], seed: 3,
                                                 strategy: .perFault)
                let seen = Collector<FaultInjector.Correction>()
                try injector.observe { seen.append($0) }
                _ = network.logits(images, options: injector.options(ForwardOptions(permutations: [layer.name: perm])))
                runs.append(seen.all)
                // The corrected row is the permutation's row at the failing position.
                for c in seen.all { XCTAssertEqual(c.row, Int(perm[c.event.position])) }
            }
            func key(_ c: FaultInjector.Correction) -> [UInt64] {
                [UInt64(c.image), UInt64(c.event.block), UInt64(c.event.thread), UInt64(c.event.slot), c.event.draw]
            }
            XCTAssertGreaterThan(runs[0].count, 50)
            XCTAssertEqual(Set(runs[0].map(key)), Set(runs[1].map(key)))
            XCTAssertNotEqual(Set(runs[0].map { [$0.image, $0.row, $0.column] }), Set(runs[1].map { [$0.image, $0.row, $0.column] }))
        }
    }
}
