import HASRuntime
import XCTest
@testable import HASPlanner

/// The sweep's fast evaluator must give `FaultyEvaluator`'s predictions, image
/// for image, for every kind, and its inlined sampler and corruption must be
/// `FaultSampler`'s and `ErrorKind.corrupt`'s exactly.
final class SweepEvaluatorTests: XCTestCase {
    // MARK: Building blocks

    func testSamplerEqualsFaultSampler() throws {
        // Rates 0, low (geometric skipping), high (slot by slot) and 1; idle rows; conv columns; several K tiles.
        let rates: [Int: Double] = [0: 1, 1: 0.3, 2: 0.07, 3: 0.01, 5: 0.5, 9: 0.002, 17: 0.9, 30: 1e-4]
        var grid: [[Double]] = []
        for s in 0..<4 {
            var row: [Double] = []
            for t in 0..<8 { row.append(rates[s * 8 + t] ?? Double(s * 8 + t) / 400) }
            grid.append(row)
        }
        let profile = try FaultProfile(geometry: .init(blocks: 4, threads: 8), kind: .flip1, rates: grid,
                                       origin: .synthetic(frMax: 1, seed: 0))
        let maps = [TileMap(rows: 21, depth: 100, columns: 1, tileK: 32, blocks: 4, threads: 8),
                    TileMap(rows: 8, depth: 18, columns: 25, tileK: 9, blocks: 4, threads: 8),
                    TileMap(rows: 40, depth: 16, columns: 7, tileK: 16, blocks: 4, threads: 8)]
        let reference = FaultSampler(profile: profile), fast = SweepSampler(profile: profile)
        let scratch = SweepSampler.Scratch()
        for map in maps {
            for image in [0, 7, 4242] {
                let expected = reference.events(seed: 99, layer: FaultKeys.layer("h0"), image: image, map: map)
                var got: [FaultEvent] = []
                fast.forEachFault(seed: 99, layer: FaultKeys.layer("h0"), image: image, map: map, scratch: scratch) { r, m, n, draw in
                    let pe = map.slot(position: r, kTile: m, column: n)
                    got.append(FaultEvent(position: r, kTile: m, column: n, block: pe.block, thread: pe.thread, slot: pe.slot, draw: draw))
                }
                XCTAssertEqual(got, expected, "map \(map), image \(image)")
                XCTAssertGreaterThan(expected.count, 3)
            }
        }
    }

    // MARK: Predictions equal FaultyEvaluator's

    /// Every kind's predictions from one `SweepEvaluator` call equal `FaultyEvaluator`'s, kind by kind.
    /// Returns how many (kind, trial, image) predictions differ from the labels (the clean predictions).
    @discardableResult
    func check(_ network: Network, group: [String], frMax: Double, kinds: [ErrorKind], count: Int = 120,
               tiling: FaultProfile.Tiling = .init(), expectFast: Bool = true, file: StaticString = #filePath,
               line: UInt = #line) throws -> Int {
        let images = PlannerTestSupport.images(count, for: network)
        let labels = PlannerTestSupport.labels(network, images)
        let indices = (0..<count).map { 500 + 7 * $0 }  // a subset of a larger data set
        let device = try PlannerTestSupport.device(kind: kinds[0], frMax: frMax, seed: 3, tiling: tiling)
        let fast = try SweepEvaluator(network: network, images: images, labels: labels, imageIndices: indices,
                                      faultyLayers: group, threads: 2)
        XCTAssertEqual(fast.isFast, expectFast, "\(group)", file: file, line: line)
        let reference = try FaultyEvaluator(network: network, images: images, labels: labels, imageIndices: indices,
                                            profile: device, faultyLayers: group, threads: 2)
        XCTAssertEqual(fast.cleanAccuracy, reference.cleanAccuracy, file: file, line: line)
        let got = fast.predictions(device: device, kinds: kinds, seed: 41, trials: 2)
        var wrong = 0
        for (k, kind) in kinds.enumerated() {
            let expected = reference.evaluate(seed: 41, trials: 2, profile: SweepEvaluator.profile(device, kind: kind)).predictions
            XCTAssertEqual(got[k], expected, "\(group) \(kind) at \(frMax)", file: file, line: line)
            wrong += expected.joined().enumerated().filter { $0.element != labels[$0.offset % count] }.count
        }
        return wrong
    }

    static let high: [ErrorKind] = [.flip0, .tf32, .bf16, .zero]
    static let low: [ErrorKind] = [.flip1, .bitflip]

    func testDenseFirstLayer() throws {
        let network = try PlannerTestSupport.smallCNN()
        XCTAssertGreaterThan(try check(network, group: ["h0"], frMax: 0.05, kinds: Self.low), 0)
        try check(network, group: ["h0"], frMax: 0.5, kinds: Self.high)
        // op: no ReLU after it; h0+op: a later faulty layer, every image runs on.
        XCTAssertGreaterThan(try check(network, group: ["op"], frMax: 0.5, kinds: Self.low + Self.high), 0)
        XCTAssertGreaterThan(try check(network, group: ["h0", "op"], frMax: 0.05, kinds: Self.low), 0)
    }

    func testConvBeforePoolAndDense() throws {
        // One K tile (P is the clean output), then several (P as a dot product), padding.
        let network = try PlannerTestSupport.smallCNN()
        XCTAssertGreaterThan(try check(network, group: ["c0"], frMax: 0.05, kinds: Self.low), 0)
        try check(network, group: ["c0"], frMax: 0.5, kinds: Self.high)
        let padded = try PlannerTestSupport.smallCNN(channels: 2, padding: 1)
        XCTAssertGreaterThan(try check(padded, group: ["c0"], frMax: 0.05, kinds: Self.low, tiling: .init(convTileK: 4)), 0)
        try check(padded, group: ["c0"], frMax: 0.5, kinds: Self.high, tiling: .init(convTileK: 4))
    }

    func testTwoConvolutions() throws {
        let network = try Self.twoConvNet()
        for group in [["c0"], ["c1"], ["c0", "c1"]] {
            XCTAssertGreaterThan(try check(network, group: group, frMax: 0.05, kinds: Self.low, count: 60), 0)
            try check(network, group: group, frMax: 0.5, kinds: Self.high, count: 60)
        }
    }

    func testConvWithoutPoolAndFallback() throws {
        let network = try Self.convReluDense()
        XCTAssertGreaterThan(try check(network, group: ["c0"], frMax: 0.05, kinds: Self.low), 0)
        try check(network, group: ["c0"], frMax: 0.5, kinds: Self.high)
        // Faults up to the last layer: no clean dense layer after them, the rest runs in full.
        let cnn = try PlannerTestSupport.smallCNN()
        XCTAssertGreaterThan(try check(cnn, group: ["c0", "op"], frMax: 0.05, kinds: Self.low, count: 40), 0)
        // A conv without a ReLU: FaultyEvaluator does it, kind by kind.
        XCTAssertGreaterThan(try check(try Self.convReluDense(relu: false), group: ["c0"], frMax: 0.05, kinds: Self.low,
                                       expectFast: false), 0)
    }

    // MARK: The analysis

    /// Same cells with the fast evaluator as with FaultyEvaluator, and the same
    /// when resumed from part of them (in any order).
    func testAnalysisFastEqualsReferenceAndResumes() throws {
        let network = try PlannerTestSupport.smallCNN()
        let images = PlannerTestSupport.images(50, for: network)
        let labels = PlannerTestSupport.labels(network, images)
        let configuration = SensitivityAnalysis.Configuration(
            layerGroups: [["c0"], ["h0"], ["op"], ["c0", "h0"]], kinds: ErrorKind.allCases,
            frMax: [.flip1: [0.01, 0.05], .bitflip: [0.05], .flip0: [0.5], .tf32: [0.2, 0.5], .bf16: [0.5], .zero: [0.2]],
            deviceSeeds: [1, 2], trials: 2, blocks: 4, threads: 8)
        let analysis = try SensitivityAnalysis(network: network, configuration: configuration)
        var units = 0
        let fast = try analysis.run(images: images, labels: labels, threads: 2, afterUnit: { _ in units += 1 })
        let reference = try analysis.run(images: images, labels: labels, threads: 2, fast: false)
        XCTAssertEqual(fast.count, 4 * 8 * 2)
        // Units: per group, FR_max 0.01, 0.05, 0.5, 0.2 × 2 devices.
        XCTAssertEqual(units, 4 * 4 * 2)
        func same(_ a: [SensitivityAnalysis.Cell], _ b: [SensitivityAnalysis.Cell]) -> Bool {
            a.map(SensitivityCheckpoint.Entry.init) == b.map(SensitivityCheckpoint.Entry.init)
        }
        XCTAssertTrue(same(fast, reference))
        XCTAssertTrue(fast.contains { $0.degradation > 0 })
        var finishedBefore: [SensitivityAnalysis.Cell] = []
        var seen = 0
        struct Stop: Error {}
        XCTAssertThrowsError(try analysis.run(images: images, labels: labels, threads: 2, afterUnit: { done in
            seen += 1
            finishedBefore = done
            if seen == 5 { throw Stop() }
        }))
        XCTAssertLessThan(finishedBefore.count, fast.count)
        var resumedUnits = 0
        let resumed = try analysis.run(images: images, labels: labels, threads: 2, completed: finishedBefore.reversed(),
                                       afterUnit: { _ in resumedUnits += 1 })
        XCTAssertEqual(resumedUnits, units - 5)
        XCTAssertTrue(same(resumed, fast))
    }

    // MARK: Networks

    /// fashion-cnn in miniature: [1, 12, 12] → c0 (6 × 3×3 same) → ReLU → pool → dropout →
    /// c1 (8 × 3×3 same) → ReLU → pool → dropout → flatten → h0 (→ 30) → ReLU → dropout → op (→ 10).
    static func twoConvNet() throws -> Network {
        var rng = SplitMix64(seed: 12)
        func he(_ shape: [Int], fanIn: Int) -> Tensor { PlannerTestSupport.tensor(shape, &rng, scale: (6 / Float(fanIn)).squareRoot()) }
        let tensors = ["c0.weight": he([6, 1, 3, 3], fanIn: 9), "c0.bias": he([6], fanIn: 9),
                       "c1.weight": he([8, 6, 3, 3], fanIn: 54), "c1.bias": he([8], fanIn: 54),
                       "h0.weight": he([30, 72], fanIn: 72), "h0.bias": he([30], fanIn: 72),
                       "op.weight": he([10, 30], fanIn: 30), "op.bias": he([10], fanIn: 30)]
        func conv(_ name: String) -> LayerSpec {
            LayerSpec(type: "conv2d", name: name, weight: "\(name).weight", bias: "\(name).bias", stride: [1, 1], padding: [1, 1, 1, 1])
        }
        let layers = [conv("c0"), LayerSpec(type: "relu"), LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]),
                      LayerSpec(type: "dropout"), conv("c1"), LayerSpec(type: "relu"),
                      LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]), LayerSpec(type: "dropout"),
                      LayerSpec(type: "flatten"), PlannerTestSupport.dense("h0"), LayerSpec(type: "relu"), LayerSpec(type: "dropout"),
                      PlannerTestSupport.dense("op"), LayerSpec(type: "softmax")]
        let manifest = Manifest(name: "two-conv", input: InputSpec(shape: [1, 12, 12], preprocessing: Preprocessing()),
                                classes: (0..<10).map(String.init), layers: layers)
        return try Network(manifest: manifest, tensors: tensors, file: "<test>")
    }

    /// [1, 8, 8] → c0 (5 × 3×3 valid) → ReLU → flatten → h0 (180 → 20) → ReLU → op (→ 4): a conv without a pool.
    static func convReluDense(relu: Bool = true) throws -> Network {
        var rng = SplitMix64(seed: 13)
        func he(_ shape: [Int], fanIn: Int) -> Tensor { PlannerTestSupport.tensor(shape, &rng, scale: (6 / Float(fanIn)).squareRoot()) }
        let tensors = ["c0.weight": he([5, 1, 3, 3], fanIn: 9), "c0.bias": he([5], fanIn: 9),
                       "h0.weight": he([20, 180], fanIn: 180), "h0.bias": he([20], fanIn: 180),
                       "op.weight": he([4, 20], fanIn: 20), "op.bias": he([4], fanIn: 20)]
        let layers = [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1], padding: [0, 0, 0, 0]),
                      LayerSpec(type: relu ? "relu" : "dropout"), LayerSpec(type: "flatten"), PlannerTestSupport.dense("h0"),
                      LayerSpec(type: "relu"), PlannerTestSupport.dense("op")]
        let manifest = Manifest(name: "conv-relu-dense", input: InputSpec(shape: [1, 8, 8], preprocessing: Preprocessing()),
                                classes: (0..<4).map(String.init), layers: layers)
        return try Network(manifest: manifest, tensors: tensors, file: "<test>")
    }
}
