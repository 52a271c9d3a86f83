import HASRuntime
import HASTestSupport
import XCTest

/// Every `FaultInjector` strategy × error kind (each exponent-bit range) × conv
/// and dense layer × {no plan, random permutation} × kernel ISA variant this CPU
/// supports (forced, not cpuid's pick), compared bit for bit with the tests'
/// independent scalar reference (`SpecReferenceDevice`, which draws its own
/// faults from the golden-vector-tested `SpecFaultStream`).
final class StrategyMatrixTests: XCTestCase {
    /// One faulty layer and the range of layers that runs it (no activation after it).
    struct Case { var name: String; var network: Network; var layers: Range<Int> }

    /// A conv layer (20 kernels 3×3 over 6 channels of 7×7, padding 1: K = 54 in six
    /// tiles, 49 columns) and a dense layer (100 → 20: K tiles of 32, the last
    /// partial), on 3 blocks × 8 threads: several row blocks, idle positions (20 is
    /// not a multiple of 8), tiles wrapping round the blocks.
    static func cases() throws -> [Case] {
        var rng = SplitMix64(seed: 41)
        let conv = try TestNetworks.network(
            input: [6, 7, 7],
            layers: [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1],
                               padding: [1, 1, 1, 1]), LayerSpec(type: "flatten")],
            tensors: ["c0.weight": TestNetworks.tensor([20, 6, 3, 3], &rng, integers: false),
                      "c0.bias": TestNetworks.tensor([20], &rng, integers: false)],
            classes: 20 * 49)
        let dense = try TestNetworks.network(
            input: [1, 10, 10], layers: [LayerSpec(type: "flatten"), TestNetworks.dense("d0")],
            tensors: ["d0.weight": TestNetworks.tensor([20, 100], &rng, integers: false),
                      "d0.bias": TestNetworks.tensor([20], &rng, integers: false)],
            classes: 20)
        return [Case(name: "conv", network: conv, layers: 0..<1), Case(name: "dense", network: dense, layers: 0..<2)]
    }

    /// PE rates covering every sampling mode: never, geometric, slot by slot on both
    /// sides of the 1/16 threshold, and always.
    static func profile(kind: ErrorKind, exponentBits: ExponentBits) throws -> FaultProfile {
        let cycle = [0, 0.01, 0.05, 0.0625, 0.3, 0.9, 1.0, 0.02]
        return try FaultProfile(geometry: .init(blocks: 3, threads: 8), tiling: .init(), kind: kind, exponentBits: exponentBits,
                                rates: (0..<3).map { s in (0..<8).map { t in cycle[(s * 8 + t) % cycle.count] } },
                                origin: .synthetic(frMax: 1, seed: 0))
    }

    func testEveryStrategyMatchesTheReferenceBitForBit() throws {
        let cases = try Self.cases()
        var profiles: [FaultProfile] = []
        for kind in ErrorKind.allCases {
            for bits in kind.choosesExponentBit ? ExponentBits.allCases : [.low7] {
                profiles.append(try Self.profile(kind: kind, exponentBits: bits))
            }
        }
        for isa in KernelISA.supported {
            try KernelISA.with(isa) {
                for c in cases {
                    let layer = c.network.deviceLayers[0]
                    let images = TestNetworks.images(4, for: c.network)
                    var rng = SplitMix64(seed: 12)
                    var permutation = (0..<Int32(layer.shape.m)).map { $0 }
                    permutation.shuffle(using: &rng)
                    for permuted in [false, true] {
                        var options = ForwardOptions(threads: 2)
                        options.firstImageIndex = 40
                        if permuted { options.permutations[layer.name] = permutation }
                        let clean = c.network.run(images, layers: c.layers, options: options).data.map(\.bitPattern)
                        for profile in profiles {
                            let reference = try SpecReferenceDevice(network: c.network, profile: profile, seed: 77)
                            let expected = c.network.run(images, layers: c.layers, options: reference.options(options))
                                .data.map(\.bitPattern)
                            // The reference did corrupt something that shows in the output.
                            XCTAssertGreaterThan(reference.corrections, 40)
                            XCTAssertNotEqual(expected, clean, "\(profile.kind) \(c.name)")
                            for strategy in FaultInjector.Strategy.allCases {
                                let injector = try FaultInjector(network: c.network, profile: profile, seed: 77, threads: 2,
                                                                 strategy: strategy)
                                let got = c.network.run(images, layers: c.layers, options: injector.options(options))
                                    .data.map(\.bitPattern)
                                assertBitIdentical(got, expected, "\(isa) \(strategy) \(profile.kind) \(profile.exponentBits) "
                                                   + "\(c.name) permuted \(permuted)")
                            }
                        }
                    }
                }
            }
        }
    }
}
