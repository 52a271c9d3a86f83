@testable import HASRuntime
import HASTestSupport
import XCTest

/// `automatic` resolves by its documented rule (`FaultInjector.resolved`):
/// convolutions slot by slot (on a CPU with FMA), dense layers per tile only
/// when their expected faults make scattered dot products dearer than a GEMM.
final class AutomaticStrategyTests: XCTestCase {
    /// The strategy `automatic` takes for each faulty layer of one forward pass.
    func resolved(_ network: Network, _ profile: FaultProfile) throws -> [String: FaultInjector.Strategy] {
        let injector = try FaultInjector(network: network, profile: profile, seed: 1, threads: 1)
        let seen = Collector<(String, FaultInjector.Strategy)>()
        var options = ForwardOptions(threads: 1)
        options.afterGEMM = { event in
            if let layer = injector.layers[event.layerName] { seen.append((event.layerName, injector.resolved(layer, event))) }
        }
        _ = network.logits(TestNetworks.images(3, for: network), options: options)
        return Dictionary(seen.all, uniquingKeysWith: { first, _ in first })
    }

    func testConvolutionsTakeSlotsAndDenseLayersDependOnTheirFaults() throws {
        let network = try TestNetworks.convNet()  // c0: conv, op: dense 405 → 3
        let fast: FaultInjector.Strategy = FaultInjector.slotsAreFast ? .slots : .perFault
        // op: 3 rows × 13 K tiles on 3 blocks, M·K = 1,215.
        let few = try TestNetworks.profile(kind: .bitflip, blocks: 3, threads: 8, everywhere: 1e-4)
        XCTAssertEqual(try resolved(network, few), ["c0": fast, "op": .perFault])
        let many = try TestNetworks.profile(kind: .bitflip, blocks: 3, threads: 8, everywhere: 0.5)
        XCTAssertEqual(try resolved(network, many), ["c0": fast, "op": .perTile])
        // K tiles longer than one GEMM block: never per tile.
        let long = try TestNetworks.profile(kind: .bitflip, blocks: 3, threads: 8, everywhere: 0.5,
                                            tiling: .init(denseTileK: 300, convTileK: nil))
        XCTAssertEqual(try resolved(network, long), ["c0": fast, "op": .perFault])
    }
}
