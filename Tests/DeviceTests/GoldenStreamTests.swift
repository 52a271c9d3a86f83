import HASRuntime
import HASTestSupport
import XCTest

/// The fault stream against the golden vectors that Tools/golden/fault_stream.py
/// derives from docs/fault-profile.md's text alone: the runtime's sampler
/// (`SplitMix64`, `FaultKeys`, `FaultSampler`, `ErrorKind.corrupt`) and the
/// tests' independent reference (`SpecFaultStream`, `SpecCorruption`) both
/// reproduce them exactly.
final class GoldenStreamTests: XCTestCase {
    func testRuntimeSamplerReproducesTheGoldenVectors() throws {
        let golden = try GoldenFaultStream.load()
        XCTAssertFalse(golden.splitMix.isEmpty)
        for g in golden.splitMix {
            var rng = SplitMix64(seed: g.seed)
            XCTAssertEqual(g.outputs.map { _ in rng.next() }, g.outputs, "SplitMix64 seeded \(g.seed)")
        }
        for g in golden.layerKeys { XCTAssertEqual(FaultKeys.layer(g.name), g.key, "layer '\(g.name)'") }
        var failures = 0
        for g in golden.streams {
            let m = g.geometry
            let profile = try TestNetworks.profile(kind: .bitflip, blocks: m.blocks, threads: m.threads,
                                                   rates: [g.block * m.threads + g.thread: g.rate])
            let map = TileMap(rows: m.rows, depth: m.depth, columns: m.columns, tileK: m.tileK, blocks: m.blocks, threads: m.threads)
            let events = FaultSampler(profile: profile).events(seed: g.seed, layer: FaultKeys.layer(g.layer), image: g.image, map: map)
            XCTAssertTrue(events.allSatisfy { $0.block == g.block && $0.thread == g.thread })
            XCTAssertEqual(events.map { SpecFaultStream.Failure(slot: $0.slot, draw: $0.draw) }, g.failures,
                           "\(g.mode) p = \(g.rate), PE (\(g.block), \(g.thread)), image \(g.image)")
            failures += g.failures.count
        }
        XCTAssertGreaterThan(failures, 100)
        XCTAssertEqual(Set(golden.streams.map(\.mode)), ["never", "geometric", "slot-by-slot", "always"])
        for g in golden.corruptions {
            let kind = try XCTUnwrap(ErrorKind(rawValue: g.kind)), bits = try XCTUnwrap(ExponentBits(rawValue: g.exponentBits))
            XCTAssertEqual(kind.corrupt(g.bits, draw: g.draw, exponentBits: bits), g.corrupted, "\(g.kind) \(g.exponentBits) \(g.bits)")
        }
        XCTAssertEqual(Set(golden.corruptions.map(\.kind)), Set(ErrorKind.allCases.map(\.rawValue)))
    }

    func testReferenceStreamReproducesTheGoldenVectors() throws {
        let golden = try GoldenFaultStream.load()
        for g in golden.splitMix {
            var rng = SpecFaultStream.Generator(state: g.seed)
            XCTAssertEqual(g.outputs.map { _ in rng.next() }, g.outputs)
        }
        for g in golden.layerKeys { XCTAssertEqual(SpecFaultStream.layerKey(g.name), g.key) }
        XCTAssertFalse(golden.streams.isEmpty)
        for g in golden.streams {
            XCTAssertEqual(SpecFaultStream.failures(seed: g.seed, layer: g.layer, image: g.image, block: g.block, thread: g.thread,
                                                    rate: g.rate, geometry: g.geometry), g.failures,
                           "\(g.mode) p = \(g.rate), PE (\(g.block), \(g.thread)), image \(g.image)")
        }
        XCTAssertFalse(golden.corruptions.isEmpty)
        for g in golden.corruptions {
            XCTAssertEqual(SpecCorruption.apply(g.kind, to: g.bits, draw: g.draw, exponentBits: g.exponentBits == "0-7" ? 8 : 7),
                           g.corrupted, "\(g.kind) \(g.exponentBits) \(g.bits)")
        }
    }
}
