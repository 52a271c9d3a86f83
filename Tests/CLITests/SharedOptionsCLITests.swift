import Foundation
import XCTest

/// The options the tools share (HASCommandLine's option groups) are checked
/// alike in every tool, and --model finds NAME.zip from NAME everywhere.
final class SharedOptionsCLITests: XCTestCase {
    func testEveryToolChecksTheSharedOptionsAlike() throws {
        let model = ["--model", "absent.zip"]
        let commands: [(String, [String])] = [
            ("has-run", model + ["--images", "absent"]),
            ("has-plan", ["plan"] + model + ["--profile", "absent.json", "--layers", "c0"]),
            ("has-plan", ["compare"] + model + ["--profile", "absent.json", "--layers", "c0", "--out", "absent"]),
            ("has-plan", ["sensitivity"] + model + ["--images", "absent", "--labels", "absent", "--out", "absent"]),
            ("has-train", ["--model", "mnist32-cnn", "--train-images", "absent", "--train-labels", "absent", "--epochs", "1",
                           "--out", "absent.zip"]),
            ("has-bench", ["gemm"]),
        ]
        for (tool, arguments) in commands {
            for threads in ["0", "257"] {
                let run = try CLI.run(tool, arguments + ["--threads", threads])
                XCTAssertNotEqual(run.status, 0, "\(tool) \(arguments)")
                XCTAssertTrue(run.stderr.contains("--threads must be between 1 and 256"), "\(tool): \(run.stderr)")
            }
        }
        for (tool, arguments) in commands.filter({ $0.1.contains("--images") }) {
            let run = try CLI.run(tool, arguments + ["--limit", "0"])
            XCTAssertNotEqual(run.status, 0)
            XCTAssertTrue(run.stderr.contains("--limit must be positive"), "\(tool): \(run.stderr)")
        }
    }

    func testModelWithoutZipExtensionIsFoundByEveryTool() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shared-options-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try DeviceFixtures.make(in: dir)
        let name = String(f.model.dropLast(4))
        let sensitivity = try CLI.run("has-plan", ["sensitivity", "--model", name, "--images", f.images, "--labels", f.labels,
                                                   "--layers", "h0", "--kinds", "flip1", "--fr-max", "0.1", "--device-seeds", "1",
                                                   "--trials", "1", "--block-threads", "8", "--blocks", "4",
                                                   "--out", dir.appendingPathComponent("sens").path])
        XCTAssertEqual(sensitivity.status, 0, sensitivity.stderr)
        let rescaled = dir.appendingPathComponent("rescaled.zip").path
        let rescale = try CLI.run("has-train", ["rescale", "--model", name, "--layer", "h0", "--factor", "2", "--out", rescaled])
        XCTAssertEqual(rescale.status, 0, rescale.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: rescaled))
        let missing = try CLI.run("has-run", ["--model", dir.appendingPathComponent("absent").path, "--images", f.images])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("absent"), missing.stderr)
    }
}
