import HASKernels
@testable import HASRuntime
import HASTestSupport
import XCTest

/// The slot path's kernels for groups of images (`slot_lanes.c`), each
/// instruction-set variant forced in turn, against the one-stream walk
/// (`SlotScratch.decide`, i.e. `decide_slots`) and `has_partial_product`; then
/// the whole slots strategy on batches that fill 16 lanes, part of them and an
/// odd number, against the perFault strategy.
final class SlotLanesTests: XCTestCase {
    func testLaneWalkEqualsOneStreamWalkPerImage() throws {
        var rng = SplitMix64(seed: 44)
        for isa in KernelISA.supported {
            try KernelISA.with(isa) {
                for (lanes, slots) in [(1, 1), (3, 7), (8, 8), (9, 13), (16, 100), (5, 64), (16, 841), (12, 196)] {
                    for threshold: UInt64 in [0, 1 << 27, 3 << 30, 1 << 32] {
                        for bits in ExponentBits.allCases {
                            let walk = SlotLanes(threads: 2, capacity: slots, columns: 1)
                            let states = (0..<lanes).map { _ in rng.next() }
                            for (i, state) in states.enumerated() { walk.states[i] = state }
                            walk.decide(thread: 1, lanes: lanes, threshold: threshold, slots: slots,
                                        exponentBits: Int32(bits.count))
                            // The same walk, slot-major (the dense path's layout).
                            var bySlot = [UInt8](repeating: 0, count: (slots + 8) * SlotLanes.lanes)
                            has_decide_slot_codes_by_slot(walk.states, Int64(lanes), threshold, Int64(slots),
                                                          Int32(bits.count), &bySlot)
                            var faults = 0
                            for (i, state) in states.enumerated() {
                                let reference = SlotScratch(capacity: slots)
                                faults += reference.decide(state: state, threshold: threshold, slots: slots)
                                let codes = walk.codes(thread: 1, lane: i, slot: 0)
                                for n in 0..<slots {
                                    let expected = reference.failed[n] != 0
                                        ? UInt8(ErrorKind.exponentBit(draw: reference.draws[n], exponentBits: bits))
                                        : UInt8(HAS_SLOT_PASSES)
                                    if codes[n] != expected || bySlot[n * SlotLanes.lanes + i] != expected {
                                        XCTFail("\(isa) lanes \(lanes) slots \(slots) threshold \(threshold) lane \(i) slot \(n): "
                                                + "\(codes[n]), slot-major \(bySlot[n * SlotLanes.lanes + i]) vs \(expected)")
                                        return
                                    }
                                }
                                XCTAssertEqual(has_slot_codes_fail(codes, Int64(slots)) != 0,
                                               (0..<slots).contains { reference.failed[$0] != 0 })
                            }
                            if threshold == 1 << 32 { XCTAssertEqual(faults, lanes * slots) }
                            if threshold == 0 { XCTAssertEqual(faults, 0) }
                        }
                    }
                }
            }
        }
    }

    func testRowProductsAreTheFMAChainsOfHasPartialProduct() throws {
        var rng = SplitMix64(seed: 45)
        for isa in KernelISA.supported {
            try KernelISA.with(isa) {
                for (rows, length, columns) in [(1, 1, 1), (3, 9, 17), (4, 16, 64), (9, 16, 196), (6, 27, 70), (5, 3, 49)] {
                    let bRow = columns + 3
                    let a = (0..<(rows * length)).map { _ in rng.nextSignedUnit() * 3 }
                    let b = (0..<(length * bRow)).map { _ in rng.nextSignedUnit() * 3 }
                    var products = [Float](repeating: .nan, count: rows * columns)
                    a.withUnsafeBufferPointer { ap in
                        b.withUnsafeBufferPointer { bp in
                            // Rows in a shuffled order, as a permutation gives them.
                            let order = (0..<rows).reversed().map { ap.baseAddress! + $0 * length }
                            let pointers = order.map { Optional($0) }
                            pointers.withUnsafeBufferPointer { rp in
                                has_tile_products_rows(rp.baseAddress!, Int64(rows), Int64(length), bp.baseAddress!,
                                                       Int64(bRow), Int64(columns), &products, Int64(columns))
                            }
                            for (r, row) in order.enumerated() {
                                for n in 0..<columns {
                                    let expected = FaultInjector.partialProduct(row, bp.baseAddress! + n, bRowStride: bRow,
                                                                                range: 0..<length)
                                    XCTAssertEqual(products[r * columns + n].bitPattern, expected.bitPattern,
                                                   "\(isa) rows \(rows) length \(length) columns \(columns) [\(r), \(n)]")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// 37 images on one thread: groups of 16, 16 and 5 images; on two threads, other splits.
    func testSlotsStrategyOverImageGroupsMatchesPerFault() throws {
        let network = try SlotPathTests.convLayer()
        var always = try TestNetworks.profile(kind: .flip1, blocks: 4, threads: 8, everywhere: 1)
        always.exponentBits = .all8
        let profiles = [try FaultProfile.synthetic(kind: .bitflip, frMax: 0.5, seed: 3, blocks: 4, threads: 8),
                        try FaultProfile.synthetic(kind: .tf32, frMax: 0.9, seed: 4, blocks: 4, threads: 8), always]
        let images = TestNetworks.images(37, for: network)
        for isa in KernelISA.supported {
            try KernelISA.with(isa) {
                for profile in profiles {
                    for threads in [1, 2] {
                        func run(_ strategy: FaultInjector.Strategy) throws -> [UInt32] {
                            let injector = try FaultInjector(network: network, profile: profile, seed: 6, threads: threads,
                                                             strategy: strategy)
                            var options = injector.options(ForwardOptions(threads: threads))
                            options.firstImageIndex = 7
                            options.permutations["c0"] = (0..<20).map { Int32(($0 * 3 + 5) % 20) }
                            return network.run(images, layers: 0..<1, options: options).data.map(\.bitPattern)
                        }
                        let slots = try run(.slots), perFault = try run(.perFault)
                        assertBitIdentical(slots, perFault, "\(isa) \(profile.kind) threads \(threads)")
                    }
                }
            }
        }
    }

    /// The dense per-tile path over groups of images (16, 16, 5 of 37) against perFault, each variant.
    func testDensePerTileOverImageGroupsMatchesPerFault() throws {
        let dense = try StrategyMatrixTests.cases().first { $0.name == "dense" }!
        var always = try TestNetworks.profile(kind: .bitflip, blocks: 4, threads: 8, everywhere: 1)
        always.exponentBits = .all8
        let profiles = [try FaultProfile.synthetic(kind: .flip1, frMax: 0.6, seed: 5, blocks: 4, threads: 8),
                        try FaultProfile.synthetic(kind: .zero, frMax: 0.3, seed: 6, blocks: 4, threads: 8), always]
        let images = TestNetworks.images(37, for: dense.network)
        for isa in KernelISA.supported {
            try KernelISA.with(isa) {
                for profile in profiles {
                    for threads in [1, 2] {
                        func run(_ strategy: FaultInjector.Strategy) throws -> [UInt32] {
                            let injector = try FaultInjector(network: dense.network, profile: profile, seed: 8,
                                                             threads: threads, strategy: strategy)
                            var options = injector.options(ForwardOptions(threads: threads))
                            options.firstImageIndex = 3
                            options.permutations["d0"] = (0..<20).map { Int32(($0 * 7 + 2) % 20) }
                            return dense.network.run(images, layers: dense.layers, options: options).data.map(\.bitPattern)
                        }
                        let perTile = try run(.perTile), perFault = try run(.perFault)
                        assertBitIdentical(perTile, perFault, "\(isa) \(profile.kind) threads \(threads)")
                    }
                }
            }
        }
    }
}
