import Foundation
import HASRuntime
import XCTest

/// Every plan in Plans/ is for a shipped model's weights and a reference device
/// in Plans/profiles/, and still measures the recovery it records, on the first
/// held-out images, through the runtime exactly as has-run applies it.
final class ShippedPlanTests: XCTestCase {
    static let images = 400

    func testEveryShippedPlanMatchesItsModelAndDeviceAndStillRecovers() throws {
        let root = TestData.packageRoot.appendingPathComponent("Plans")
        let files = FileManager.default
        var profiles: [String: FaultProfile] = [:]
        for name in try files.contentsOfDirectory(atPath: root.appendingPathComponent("profiles").path) where name.hasSuffix(".json") {
            let profile = try FaultProfile.load(path: root.appendingPathComponent("profiles/\(name)").path)
            profiles[profile.fingerprint] = profile
        }
        var checked = 0
        for (model, set, hint) in [("mnist32-cnn", TestData.mnist, "../shared/datasets/mnist beside the package"),
                                   ("fashion-cnn", TestData.fashion, "apt-get install dataset-fashion-mnist")] {
            let directory = root.appendingPathComponent(model).path
            let plans = try files.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".json") && !$0.contains(".checkpoint.") }.sorted()
            guard !plans.isEmpty else { continue }
            let path = TestData.model(model)
            let bundle = try ModelBundle.load(from: path)
            let network = try Network(manifest: bundle.manifest, tensors: bundle.tensors, file: path)
            let data = try ImageSet.open(images: try TestData.require(set, "t10k-images-idx3-ubyte.gz", hint: hint),
                                         labels: try TestData.require(set, "t10k-labels-idx1-ubyte.gz", hint: hint),
                                         limit: Self.images, input: bundle.manifest.input, model: network.name,
                                         classCount: network.classes.count)
            let labels = data.labels!
            let classifier = Classifier(network: network, batchSize: 256)
            for name in plans {
                let file = "\(directory)/\(name)"
                let plan = try SchedulePlan.load(from: file)
                guard let profile = profiles[plan.profileFingerprint] else {
                    XCTFail("\(model)/\(name): no reference profile with fingerprint \(plan.profileFingerprint) in Plans/profiles")
                    continue
                }
                // Named by the fingerprint it is for, for this model's weights.
                XCTAssertEqual(name, "\(profile.fingerprint).json")
                try plan.validate(for: network, weightsDigest: bundle.weightsDigest, fingerprint: profile.fingerprint, file: file)
                let recorded = try XCTUnwrap(plan.accuracy?.heldOut, "\(name) records no held-out accuracy")
                XCTAssertTrue(recorded.images.hasPrefix("0:"), "\(name): held out on \(recorded.images)")

                // One draw of the planned layers' faults, as the planner measured them (seeds from fault seed + 1000).
                let seed = (plan.provenance.faultSeeds.first ?? 1) &+ 1000
                let layers = plan.layers.map(\.name)
                func accuracy(_ permutations: [String: [Int32]]) throws -> Double {
                    let injector = try FaultInjector(network: network, profile: profile, faultyLayers: layers, seed: seed, threads: 2)
                    return try classifier.classify(data.source, options: injector.options(ForwardOptions(permutations: permutations, threads: 2)))
                        .accuracy(labels: labels)
                }
                let faulty = try accuracy([:]), planned = try accuracy(plan.permutations)
                // 400 images: a binomial standard error of ≤ 2.5 points on each; the recorded
                // figures are means over 5,120 images and 3 draws.
                let tolerance = 0.06
                XCTAssertEqual(planned, recorded.planned.mean, accuracy: tolerance, "\(model)/\(name) planned")
                XCTAssertEqual(faulty, recorded.faulty.mean, accuracy: tolerance, "\(model)/\(name) faulty")
                let recordedGain = recorded.planned.mean - recorded.faulty.mean
                if recordedGain >= 0.03 {
                    // A plan that records a clear recovery still recovers at least half of it here.
                    XCTAssertGreaterThan(planned - faulty, recordedGain / 2, "\(model)/\(name): \(faulty) → \(planned)")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0, "no shipped plans found in Plans/")
    }
}
