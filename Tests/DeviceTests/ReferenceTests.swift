import HASDiagnosis
import HASRuntime
import HASTestSupport
import XCTest

/// The fast path (clean GEMM + corrections) against the slow reference that
/// materialises every partial product straight from spec §3.
final class ReferenceTests: XCTestCase {
    struct Key: Hashable { var image: Int, row: Int, column: Int, kTile: Int, clean: UInt32, corrupted: UInt32 }

    /// - Returns: how many corrupted outputs were NaN or ±inf (compared by pattern, not value).
    @discardableResult
    func compare(_ network: Network, profile: FaultProfile, permuted: Bool, line: UInt = #line) throws -> Int {
        let layer = network.deviceLayers[0]
        let images = TestNetworks.images(5, for: network, integers: true)
        // The activations entering the layer, and a range holding only the layer (no activation after it).
        let x = network.run(images, layers: 0..<layer.index)
        var rng = SplitMix64(seed: 12)
        var options = ForwardOptions(threads: 2)
        options.firstImageIndex = 40
        if permuted {
            var perm = (0..<Int32(layer.shape.m)).map { $0 }
            perm.shuffle(using: &rng)
            options.permutations[layer.name] = perm
        }
        let fast = try FaultInjector(network: network, profile: profile, seed: 77, threads: 2, strategy: .perFault)
        let fastSeen = Collector<Key>()
        try fast.observe { c in
            fastSeen.append(Key(image: c.image, row: c.row, column: c.column, kTile: c.event.kTile, clean: c.clean, corrupted: c.corrupted))
        }
        let reference = try ReferenceFaultInjector(network: network, profile: profile, seed: 77)
        let referenceSeen = Collector<Key>()
        reference.observer = { _, image, list in
            referenceSeen.append(contentsOf: list.map { Key(image: image, row: $0.row, column: $0.column, kTile: $0.kTile,
                                                            clean: $0.clean, corrupted: $0.corrupted) })
        }
        let yFast = network.run(x, layers: layer.index..<(layer.index + 1), options: fast.options(options))
        let yReference = network.run(x, layers: layer.index..<(layer.index + 1), options: reference.options(options))

        // The same partial products corrupted into the same values, bit for bit.
        let f = fastSeen.all, r = referenceSeen.all
        XCTAssertGreaterThan(f.count, 20, line: line)
        XCTAssertEqual(f.count, r.count, line: line)
        XCTAssertEqual(Set(f), Set(r), line: line)
        XCTAssertEqual(Set(f).count, f.count, line: line)

        // Outputs: identical where nothing failed (integer data: clean sums are exact in any order),
        // equal up to summation order where something did, and the same NaN/±inf pattern.
        let n = layer.shape.columnsPerImage, m = layer.shape.m
        var magnitude = [Int: Double]()  // per (image, row, column): Σ|P̃| of the corrupted products
        for k in r { magnitude[(k.image * m + k.row) * n + k.column, default: 0] += Double(abs(Float(bitPattern: k.corrupted))) }
        var nonFinite = 0
        for image in 0..<5 {
            for row in 0..<m {
                for col in 0..<n {
                    // Conv output is [N, O, H, W] (= row, column); dense output [N, out].
                    let index = (image * m + row) * n + col
                    let a = yFast.data[index], b = yReference.data[index]
                    guard let scale = magnitude[((40 + image) * m + row) * n + col] else {
                        XCTAssertEqual(a.bitPattern, b.bitPattern, "clean element \(image) \(row) \(col)", line: line)
                        continue
                    }
                    if a.isFinite && b.isFinite {
                        XCTAssertEqual(Double(a), Double(b), accuracy: 1e-5 * (scale + 1000), line: line)
                    } else {
                        nonFinite += 1
                        XCTAssertEqual(a.isNaN, b.isNaN, line: line)
                        if !a.isNaN { XCTAssertEqual(a, b, line: line) }
                    }
                }
            }
        }
        return nonFinite
    }

    func testFastPathAgreesWithTheReference() throws {
        for network in [try TestNetworks.denseNet(), try TestNetworks.convNet()] {
            for (kind, rate, bits) in [(ErrorKind.bitflip, 0.1, ExponentBits.low7), (.flip1, 0.3, .all8), (.flip0, 0.2, .low7),
                                       (.tf32, 0.3, .low7), (.bf16, 0.5, .low7)] {
                var profile = try FaultProfile.synthetic(kind: kind, frMax: rate, seed: 4, blocks: 3, threads: 8)
                profile.exponentBits = bits
                var nonFinite = 0
                for permuted in [false, true] {
                    nonFinite += try compare(network, profile: profile, permuted: permuted)
                }
                switch kind {
                case .flip0, .tf32, .bf16:
                    // They only clear bits of finite products: a NaN or ±inf would be a bug.
                    XCTAssertEqual(nonFinite, 0, "\(kind)")
                case .flip1 where bits == .all8:
                    // Setting the exponent's top bit overflows: the NaN/±inf comparison must be exercised.
                    XCTAssertGreaterThan(nonFinite, 0, "\(kind)")
                default:
                    break
                }
            }
        }
    }

    /// The strategies give bit-identical outputs on mnist32's dense layers, whatever the batch size.
    func testStrategiesAreBitIdenticalOnDenseLayers() throws {
        let network = try TestNetworks.mnist32()
        let images = TestNetworks.images(70, for: network)
        for (kind, rate) in [(ErrorKind.flip1, 5e-3), (.tf32, 0.5), (.bitflip, 0.2)] {
            let profile = try FaultProfile.synthetic(kind: kind, frMax: rate, seed: 2)
            var outputs: [[UInt32]] = []
            for (strategy, batch) in [(FaultInjector.Strategy.perFault, 70), (.perTile, 70), (.perTile, 9),
                                      (.slots, 33), (.automatic, 33)] {
                let injector = try FaultInjector(network: network, profile: profile, faultyLayers: ["h0", "h1", "op"], seed: 6,
                                                 strategy: strategy)
                var bits: [UInt32] = []
                for start in stride(from: 0, to: 70, by: batch) {
                    var options = injector.options()
                    options.firstImageIndex = start
                    options.permutations["h1"] = (0..<256).map { Int32(($0 * 37) % 256) }
                    bits += network.logits(try TensorImageSource(images).batch(start..<min(70, start + batch)), options: options)
                        .data.map(\.bitPattern)
                }
                outputs.append(bits)
            }
            for other in outputs.dropFirst() { XCTAssertEqual(other, outputs[0], "\(kind)") }
        }
    }
}
