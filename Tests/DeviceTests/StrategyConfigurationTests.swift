import HASRuntime
import HASTestSupport
import XCTest

/// Strategies are chosen by name and checked when configured: an observer only
/// with a strategy that reports corrections, perTile only where the GEMM computes
/// a tile's products as one FMA chain.
final class StrategyConfigurationTests: XCTestCase {
    func testOnlyPerFaultTakesAnObserver() throws {
        let network = try TestNetworks.convNet()
        let profile = try TestNetworks.profile(kind: .bitflip, blocks: 3, threads: 8, everywhere: 0.5)
        for strategy in FaultInjector.Strategy.allCases {
            let injector = try FaultInjector(network: network, profile: profile, seed: 1, strategy: strategy)
            if strategy == .perFault {
                let seen = Collector<FaultInjector.Correction>()
                try injector.observe { seen.append($0) }
                _ = network.logits(TestNetworks.images(2, for: network), options: injector.options())
                XCTAssertGreaterThan(seen.all.count, 100)
            } else {
                XCTAssertThrowsError(try injector.observe { _ in }, "\(strategy)")
                XCTAssertNil(injector.observer)
            }
        }
    }

    func testPerTileRefusesTilesLongerThanOneGEMMBlock() throws {
        let network = try TestNetworks.denseNet()
        let profile = try TestNetworks.profile(kind: .bitflip, blocks: 3, threads: 8, everywhere: 0.5,
                                               tiling: .init(denseTileK: 300, convTileK: nil))
        XCTAssertThrowsError(try FaultInjector(network: network, profile: profile, seed: 1, strategy: .perTile))
        for strategy in FaultInjector.Strategy.allCases where strategy != .perTile {
            XCTAssertNoThrow(try FaultInjector(network: network, profile: profile, seed: 1, strategy: strategy))
        }
    }
}
