import Foundation
import HASRuntime
import XCTest
@testable import HASPlanner

/// The plan file: round trip, and one clear error per way it can be wrong.
final class SchedulePlanTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("plan-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func plan(layers: [SchedulePlan.LayerPermutation], name: String = "small-cnn", digest: String = "abc",
              fingerprint: String = "f00") -> SchedulePlan {
        SchedulePlan(model: .init(name: name, weightsDigest: digest), profileFingerprint: fingerprint, layers: layers,
                     provenance: .init(strategy: "ga", seed: 1, faultSeeds: [1, 2, 3], evaluations: 10, wallSeconds: 1,
                                       fitnessImages: "0:10"),
                     accuracy: .init(fitness: .init(images: "0:10", clean: 0.9, faulty: .init(trials: [0.5, 0.7]),
                                                    planned: .init(trials: [0.8, 0.8])), heldOut: nil))
    }

    func testRoundTripAndLookup() throws {
        let network = try PlannerTestSupport.smallCNN()
        var rng = SplitMix64(seed: 1)
        let p = plan(layers: [.init(name: "c0", permutation: Permutations.random(8, using: &rng))])
        let path = SchedulePlan.path(in: directory.path, model: "small-cnn", fingerprint: "f00")
        XCTAssertNil(SchedulePlan.find(in: directory.path, model: "small-cnn", fingerprint: "f00"))
        try p.write(to: path)
        XCTAssertEqual(SchedulePlan.find(in: directory.path, model: "small-cnn", fingerprint: "f00"), path)
        let loaded = try SchedulePlan.load(from: path)
        XCTAssertEqual(loaded, p)
        XCTAssertNoThrow(try loaded.validate(for: network, weightsDigest: "abc", fingerprint: "f00", file: path))
        XCTAssertEqual(loaded.permutations["c0"], p.layers[0].permutation)
        XCTAssertEqual(loaded.accuracy?.fitness?.faulty.mean ?? 0, 0.6, accuracy: 1e-12)
        XCTAssertEqual(loaded.accuracy?.fitness?.recovery ?? 0, (0.8 - 0.6) / (0.9 - 0.6), accuracy: 1e-12)
        XCTAssertEqual(loaded.measuredAccuracy ?? 0, 0.8, accuracy: 1e-12)
    }

    func assertError(_ body: () throws -> Void, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? InputError else { return XCTFail("not an InputError: \(error)", file: file, line: line) }
            XCTAssertTrue(e.file.hasSuffix(".json"), "names the file: \(e)", file: file, line: line)
            for w in words { XCTAssertTrue(e.problem.contains(w), "'\(e.problem)' should mention '\(w)'", file: file, line: line) }
            XCTAssertFalse(e.description.contains("\n"), file: file, line: line)
        }
    }

    func testEveryMismatchIsAClearError() throws {
        let network = try PlannerTestSupport.smallCNN()
        let good = plan(layers: [.init(name: "c0", permutation: Permutations.identity(8))])
        let path = directory.appendingPathComponent("p.json").path
        func check(_ p: SchedulePlan, digest: String = "abc", fingerprint: String = "f00", mentions: [String]) throws {
            try p.write(to: path)
            assertError({ try SchedulePlan.load(from: path).validate(for: network, weightsDigest: digest, fingerprint: fingerprint, file: path) },
                        mentions: mentions)
        }
        try check(plan(layers: good.layers, name: "other-model"), mentions: ["other-model", "small-cnn"])
        try check(good, digest: "def", mentions: ["other weights"])
        try check(good, fingerprint: "beef", mentions: ["fingerprint"])
        try check(plan(layers: [.init(name: "c9", permutation: Permutations.identity(8))]), mentions: ["c9", "not a weighted layer"])
        try check(plan(layers: [.init(name: "h0", permutation: Permutations.identity(8))]), mentions: ["h0", "40 rows"])
        try check(plan(layers: [.init(name: "c0", permutation: [0, 1, 2, 3, 4, 5, 6, 6])]), mentions: ["not a permutation"])
        try check(plan(layers: [.init(name: "c0", permutation: [0, 1, 2, 3, 4, 5, 6, 8])]), mentions: ["not a permutation"])
        try check(plan(layers: [.init(name: "c0", permutation: Permutations.identity(8)),
                                .init(name: "c0", permutation: Permutations.identity(8))]), mentions: ["twice"])
        try check(plan(layers: []), mentions: ["no layers"])

        try writeFileAtomically("{\"format\": \"has-schedule-plan\"}", to: path)
        assertError({ _ = try SchedulePlan.load(from: path) }, mentions: ["not a schedule plan", "missing key"])
        try writeFileAtomically("not json", to: path)
        assertError({ _ = try SchedulePlan.load(from: path) }, mentions: ["not a schedule plan"])
        var future = good
        future.version = 2
        try future.write(to: path)
        assertError({ _ = try SchedulePlan.load(from: path) }, mentions: ["version 2"])
    }

    /// A plan applied through ForwardOptions changes nothing on a fault-free device.
    func testPlansAreInvisibleOnACleanDevice() throws {
        let network = try PlannerTestSupport.smallCNN()
        let images = PlannerTestSupport.images(20, for: network)
        var rng = SplitMix64(seed: 2)
        let p = plan(layers: [.init(name: "c0", permutation: Permutations.random(8, using: &rng)),
                              .init(name: "h0", permutation: Permutations.random(40, using: &rng))])
        let clean = network.logits(images, options: ForwardOptions(threads: 1))
        let planned = network.logits(images, options: ForwardOptions(permutations: p.permutations, threads: 1))
        XCTAssertEqual(clean.data, planned.data)
    }
}
