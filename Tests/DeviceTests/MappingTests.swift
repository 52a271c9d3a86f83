import HASRuntime
import HASTestSupport
import XCTest

/// A device where exactly one PE fails with p = 1 corrupts exactly the partial
/// products spec §3 assigns to it, and nothing else.
final class MappingTests: XCTestCase {
    /// What spec §3 assigns to PE (s, t): every (original row, K tile, column), written out from the formulas.
    func expected(m: Int, k: Int, n: Int, tileK: Int, blocks: Int, threads: Int, s: Int, t: Int,
                  permutation: [Int32]?) -> Set<[Int]> {
        let kTiles = (k + tileK - 1) / tileK
        var result = Set<[Int]>()
        for r in 0..<m where r % threads == t {
            for tile in 0..<kTiles where ((r / threads) * kTiles + tile) % blocks == s {
                for col in 0..<n { result.insert([permutation.map { Int($0[r]) } ?? r, tile, col]) }
            }
        }
        return result
    }

    /// Runs `layer` of `network` on images with only PE (s, t) failing always; returns the corrupted
    /// (row, tile, column) per image, and the (row, column) elements of C whose value changed.
    func corrupted(_ network: Network, layer: String, profile: FaultProfile, images: Tensor,
                   permutation: [Int32]?) throws -> (products: [Int: Set<[Int]>], changed: [Int: Set<[Int]>]) {
        let injector = try FaultInjector(network: network, profile: profile, faultyLayers: [layer], seed: 5, threads: 2,
                                         strategy: .perFault)
        let seen = Collector<FaultInjector.Correction>()
        try injector.observe { seen.append($0) }
        /// C of `layer` per image, after the hook (or clean).
        func outputs(faulty: Bool) -> [Int: [Float]] {
            let captured = Collector<(Int, [Float])>()
            var options = ForwardOptions(threads: 2)
            options.firstImageIndex = 100
            if let permutation { options.permutations[layer] = permutation }
            options.afterGEMM = { event in
                if faulty { injector.inject(event) }
                guard event.layerName == layer else { return }
                for i in 0..<event.batchSize {
                    let c = event.output(i)
                    var values: [Float] = []
                    for row in 0..<event.shape.m {
                        for col in 0..<event.shape.columnsPerImage { values.append(c[row * event.cRowStride + col * event.cColStride]) }
                    }
                    captured.append((event.firstImageIndex + i, values))
                }
            }
            _ = network.logits(images, options: options)
            return Dictionary(uniqueKeysWithValues: captured.all)
        }
        let clean = outputs(faulty: false), faulty = outputs(faulty: true)
        let columns = network.deviceLayers.first { $0.name == layer }!.shape.columnsPerImage
        var changed: [Int: Set<[Int]>] = [:]
        for (image, values) in faulty {
            for (j, v) in values.enumerated() where v.bitPattern != clean[image]![j].bitPattern {
                changed[image, default: []].insert([j / columns, j % columns])
            }
        }
        var products: [Int: Set<[Int]>] = [:]
        for c in seen.all {
            XCTAssertEqual(c.layer, layer)
            products[c.image, default: []].insert([c.row, c.event.kTile, c.column])
        }
        return (products, changed)
    }

    func check(_ network: Network, layer: String, tileK: Int, blocks: Int, threads: Int, pes: [(Int, Int)],
               tiling: FaultProfile.Tiling = .init(), line: UInt = #line) throws {
        let shape = network.deviceLayers.first { $0.name == layer }!.shape
        let images = TestNetworks.images(3, for: network)
        var rng = SplitMix64(seed: 4)
        var shuffled = (0..<Int32(shape.m)).map { $0 }
        shuffled.shuffle(using: &rng)
        // Tiles wrap round the blocks when there are more tiles than blocks.
        let kTiles = (shape.k + tileK - 1) / tileK, rowBlocks = (shape.m + threads - 1) / threads
        XCTAssertGreaterThan(kTiles * rowBlocks, blocks, line: line)
        for (s, t) in pes {
            let profile = try TestNetworks.profile(kind: .bitflip, blocks: blocks, threads: threads, rates: [s * threads + t: 1],
                                                   tiling: tiling)
            for permutation in [nil, shuffled] {
                let want = expected(m: shape.m, k: shape.k, n: shape.columnsPerImage, tileK: tileK, blocks: blocks,
                                    threads: threads, s: s, t: t, permutation: permutation)
                let got = try corrupted(network, layer: layer, profile: profile, images: images, permutation: permutation)
                XCTAssertEqual(Set(got.products.keys), want.isEmpty ? [] : [100, 101, 102], "PE (\(s), \(t))", line: line)
                let elements = Set(want.map { [$0[0], $0[2]] })
                for image in 100..<103 {
                    XCTAssertEqual(got.products[image] ?? [], want, "PE (\(s), \(t)), permuted: \(permutation != nil)", line: line)
                    // Nothing else changes; the corrupted elements (toggled exponent bits) do.
                    let changed = got.changed[image] ?? []
                    XCTAssertTrue(changed.isSubset(of: elements), "PE (\(s), \(t)): \(changed.subtracting(elements))", line: line)
                    XCTAssertGreaterThanOrEqual(changed.count, elements.count * 9 / 10, line: line)
                }
            }
        }
    }

    func testDenseLayer() throws {
        // d0: M = 70 (rows 70…95 of the third row block idle), K = 100 → 4 K tiles, the last 4 wide;
        // 12 tiles on 5 blocks wrap round.
        let network = try TestNetworks.denseNet()
        try check(network, layer: "d0", tileK: 32, blocks: 5, threads: 32, pes: [(0, 0), (1, 5), (4, 31), (3, 6), (2, 10)])
        // A device file may override the dense tile: K = 100 in tiles of 7 (the last 2 wide).
        try check(network, layer: "d0", tileK: 7, blocks: 3, threads: 8, pes: [(0, 0), (2, 7), (1, 3)],
                  tiling: .init(denseTileK: 7))
    }

    func testConvLayer() throws {
        // c0: M = 5 kernels on 4 threads (positions 5…7 idle), K = 3·3·3 in kh·kw = 9-wide tiles (one per input
        // channel), N = 81 output positions; 6 tiles on 4 blocks wrap round.
        let network = try TestNetworks.convNet()
        try check(network, layer: "c0", tileK: 9, blocks: 4, threads: 4, pes: [(0, 0), (1, 0), (2, 3), (3, 1), (1, 2)])
        try check(network, layer: "c0", tileK: 4, blocks: 3, threads: 2, pes: [(0, 1), (2, 0)], tiling: .init(convTileK: 4))
    }

    func testTileMapFormulas() {
        let map = TileMap(rows: 70, depth: 100, columns: 3, tileK: 32, blocks: 5, threads: 32)
        XCTAssertEqual(map.rowBlocks, 3)
        XCTAssertEqual(map.kTiles, 4)
        XCTAssertEqual(map.kRange(kTile: 3), 96..<100)
        XCTAssertEqual(map.tiles(onBlock: 0) + map.tiles(onBlock: 1) + map.tiles(onBlock: 4), 3 + 3 + 2)
        for r in 0..<70 {
            for m in 0..<4 {
                for n in 0..<3 {
                    let pe = map.slot(position: r, kTile: m, column: n)
                    XCTAssertEqual(pe.block, ((r / 32) * 4 + m) % 5)
                    XCTAssertEqual(pe.thread, r % 32)
                    let w = map.work(slot: pe.slot, block: pe.block, thread: pe.thread)
                    XCTAssertEqual([w.position, w.kTile, w.column], [r, m, n])
                }
            }
        }
    }
}
