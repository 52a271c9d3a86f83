import HASDiagnosis
import HASRuntime
import HASTestSupport
import XCTest

/// The slots strategy of convolutions (`FaultInjector.injectBySlots`) against
/// the perFault strategy, which `ReferenceTests`
/// checks against the reference: outputs bit for bit, at high (slot-by-slot)
/// and low (geometric) rates, with several K tiles per PE, idle rows and a permutation.
final class SlotPathTests: XCTestCase {
    /// One conv layer: 20 kernels over 6 channels of 7×7 (K = 54: six 3×3 tiles), 49 columns per image.
    static func convLayer() throws -> Network {
        var rng = SplitMix64(seed: 31)
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in rng.nextSignedUnit() } }
        let tensors = ["c0.weight": Tensor(shape: [20, 6, 3, 3], data: values(20 * 54)),
                       "c0.bias": Tensor(shape: [20], data: values(20))]
        return try TestNetworks.network(input: [6, 7, 7],
                                        layers: [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias",
                                                           stride: [1, 1], padding: [1, 1, 1, 1]),
                                                 LayerSpec(type: "flatten")],
                                        tensors: tensors, classes: 20 * 49)
    }

    func outputs(_ network: Network, _ profile: FaultProfile, strategy: FaultInjector.Strategy,
                 permuted: Bool, batch: Int) throws -> [UInt32] {
        let images = TestNetworks.images(12, for: network)
        let injector = try FaultInjector(network: network, profile: profile, seed: 5, threads: 2, strategy: strategy)
        let seen = Collector<Int>()
        let observed = strategy.reportsCorrections
        if observed { try injector.observe { _ in seen.append(1) } }
        var bits: [UInt32] = []
        for start in stride(from: 0, to: 12, by: batch) {
            var options = injector.options(ForwardOptions(threads: 2))
            options.firstImageIndex = 100 + start
            if permuted { options.permutations["c0"] = (0..<20).map { Int32(($0 * 7 + 3) % 20) } }
            let x = Tensor(shape: [min(12, start + batch) - start] + network.inputShape,
                           data: Array(images.data[(start * 294)..<(min(12, start + batch) * 294)]))
            bits += network.run(x, layers: 0..<1, options: options).data.map(\.bitPattern)
        }
        if observed { XCTAssertGreaterThan(seen.all.count, 100) }
        return bits
    }

    func testSlotPathIsBitIdenticalToThePerFaultPath() throws {
        let network = try Self.convLayer()
        var profiles: [FaultProfile] = []
        for (kind, rate) in [(ErrorKind.bitflip, 0.5), (.flip0, 0.3), (.flip1, 0.05), (.tf32, 0.9), (.bf16, 0.2), (.zero, 0.1)] {
            profiles.append(try FaultProfile.synthetic(kind: kind, frMax: rate, seed: 8, blocks: 4, threads: 8))
        }
        // Every PE failing (`.always`), and all exponent bits.
        var always = try TestNetworks.profile(kind: .bitflip, blocks: 4, threads: 8, everywhere: 1)
        always.exponentBits = .all8
        profiles.append(always)
        for profile in profiles {
            for permuted in [false, true] {
                let perFault = try outputs(network, profile, strategy: .perFault, permuted: permuted, batch: 12)
                let slots = try outputs(network, profile, strategy: .slots, permuted: permuted, batch: 12)
                let slotsSmallBatches = try outputs(network, profile, strategy: .slots, permuted: permuted, batch: 5)
                assertBitIdentical(slots, perFault, "\(profile.kind) \(profile.exponentBits) permuted \(permuted)")
                assertBitIdentical(slotsSmallBatches, perFault, "\(profile.kind) \(profile.exponentBits) permuted \(permuted), batches of 5")
                // Faults did change the output.
                let clean = try outputs(network, TestNetworks.profile(kind: .bitflip, blocks: 4, threads: 8), strategy: .slots,
                                        permuted: permuted, batch: 12)
                XCTAssertNotEqual(slots, clean)
            }
        }
    }
}
