import Foundation
import HASDiagnosis
import HASRuntime
import XCTest

/// has-plan without --images/--labels finds the model's test set through
/// $HAS_DATASETS or ../shared/datasets (relative to the working directory),
/// never through a path of one machine, and says where it looked when it fails.
final class DefaultTestSetCLITests: XCTestCase {
    func testTestSetIsFoundThroughTheEnvironmentOrTheSharedFolder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("default-set-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let work = root.appendingPathComponent("work"), fixtures = root.appendingPathComponent("fixtures")
        for dir in [work, fixtures] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        // "mnist" in the model's name selects the MNIST test set.
        let f = try DeviceFixtures.make(in: fixtures, name: "tiny-mnist")
        let profile = try FaultProfile.synthetic(kind: .bitflip, frMax: 0.3, seed: 7, blocks: 4, threads: 8)
        let device = root.appendingPathComponent("dev.json").path
        try profile.write(to: device)
        func install(in folder: URL) throws -> String {
            let set = folder.appendingPathComponent("mnist")
            try FileManager.default.createDirectory(at: set, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: f.images, toPath: set.appendingPathComponent("t10k-images-idx3-ubyte.gz").path)
            try FileManager.default.copyItem(atPath: f.labels, toPath: set.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path)
            return set.appendingPathComponent("t10k-images-idx3-ubyte.gz").path
        }
        func plan(_ environment: [String: String?]) throws -> CLI.Result {
            try CLI.run("has-plan", ["plan", "--model", f.model, "--profile", device, "--layers", "h0", "--strategy", "assign",
                                     "--fitness-range", "0:20", "--held-out-range", "20:40", "--threads", "1",
                                     "--out", root.appendingPathComponent("plan.json").path, "--force"],
                        environment: environment, directory: work.path)
        }
        func dataset() throws -> String? { try SchedulePlan.load(from: root.appendingPathComponent("plan.json").path).provenance.dataset }

        let missing = try plan(["HAS_DATASETS": nil])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("../shared/datasets/mnist") && missing.stderr.contains("HAS_DATASETS"), missing.stderr)

        let viaEnvironment = try install(in: root.appendingPathComponent("sets"))
        let first = try plan(["HAS_DATASETS": root.appendingPathComponent("sets").path])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(try dataset(), viaEnvironment)

        _ = try install(in: root.appendingPathComponent("shared/datasets"))
        let second = try plan(["HAS_DATASETS": nil])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try dataset(), "../shared/datasets/mnist/t10k-images-idx3-ubyte.gz")
    }
}
