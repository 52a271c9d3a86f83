import Foundation
import XCTest

/// has-fuzz in a normal build: the seed corpus is written by the project's own
/// writers and every seed passes its target (accepted, or refused in one line
/// where a target reads a file two ways), so the fuzz targets start from
/// valid files and cannot rot between fuzz runs.
final class FuzzCLITests: XCTestCase {
    func testSeedsPassEveryTargetAndAreAccepted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-seeds-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seeds = try CLI.run("has-fuzz", ["seeds", dir])
        XCTAssertEqual(seeds.status, 0, seeds.stderr)
        let targets = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertEqual(targets, ["bundle", "diagnosis-checkpoint", "idx", "manifest", "npy", "plan", "plan-checkpoint", "png",
                                 "profile", "sensitivity-checkpoint", "tensor"])
        for target in targets {
            let run = try CLI.run("has-fuzz", ["run", target, (dir as NSString).appendingPathComponent(target)],
                                  environment: ["HAS_FUZZ_VERBOSE": "1"])
            XCTAssertEqual(run.status, 0, "\(target): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("replayed"), run.stderr)
            let refusals = run.stderr.split(separator: "\n").filter { $0.hasPrefix("refused:") }
            // The idx target also reads a label file, which is not images.
            XCTAssertEqual(refusals.count, target == "idx" ? 1 : 0, "\(target): \(refusals)")
        }
    }

    func testAnUnknownTargetIsRefused() throws {
        let run = try CLI.run("has-fuzz", ["run", "nope"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("unknown target 'nope'"), run.stderr)
    }
}
