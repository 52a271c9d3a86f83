import Foundation
import HASDiagnosis
import HASRuntime
import XCTest

/// `has-plan sensitivity` through the built binary: files, table shapes, errors.
final class SensitivityCLITests: XCTestCase {
    func testSensitivityWritesTablesAndPlot() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sensitivity-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try DeviceFixtures.make(in: dir)
        let out = dir.appendingPathComponent("sens").path
        let run = try CLI.run("has-plan", ["sensitivity", "--model", f.model, "--images", f.images, "--labels", f.labels,
                                           "--layers", "c0,op,c0+h0", "--kinds", "bitflip,tf32",
                                           "--fr-max", "bitflip=0.05,0.5", "--fr-max", "tf32=0.5",
                                           "--device-seeds", "2", "--trials", "2", "--block-threads", "8", "--blocks", "4",
                                           "--out", out])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("c0+h0"), run.stdout)
        // 3 layer groups × (2 + 1) rates × 2 devices × 2 trials.
        let detail = try String(contentsOfFile: out + "/sensitivity.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(detail.first, "layers,kind,fr_max,device_seed,fingerprint,trial,accuracy,clean_accuracy,degradation_points")
        XCTAssertEqual(detail.count, 1 + 3 * 3 * 2 * 2)
        let summary = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(summary.count, 1 + 3 * 3)
        // Labels are the clean predictions: clean accuracy 1, degradation = 100 × (1 − mean accuracy).
        for line in summary.dropFirst() {
            let cells = line.split(separator: ",").map(String.init)
            XCTAssertEqual(cells[3], "4")
            XCTAssertEqual(Double(cells[4]), 1)
            XCTAssertEqual(Double(cells[7])!, 100 * (1 - Double(cells[5])!), accuracy: 1e-3)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/sensitivity.json"))) as! [String: Any]
        XCTAssertEqual(json["layer_groups"] as? [String], ["c0", "op", "c0+h0"])
        XCTAssertEqual((json["cells"] as? [Any])?.count, 3 * 3 * 2)
        // The device fingerprints are those of has-diagnose synth's profiles.
        let device = try FaultProfile.synthetic(kind: .tf32, frMax: 0.5, seed: 2, blocks: 4, threads: 8)
        XCTAssertTrue(detail.contains { $0.hasPrefix("c0,tf32,0.5,2,\(device.fingerprint),") })
        let svg = try String(contentsOfFile: out + "/sensitivity.svg", encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg"))
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 3 * 2)
        // Bitflip at 0.5 on every layer costs accuracy.
        let worst = summary.dropFirst().first { $0.hasPrefix("c0+h0,bitflip,0.5,") }!.split(separator: ",")
        XCTAssertGreaterThan(Double(worst[7])!, 5)

        let bad = try CLI.run("has-plan", ["sensitivity", "--model", f.model, "--images", f.images, "--labels", f.labels,
                                           "--layers", "c9", "--out", out])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("Error: --layers: model tiny has no weighted layer 'c9'"), bad.stderr)
        let badKind = try CLI.run("has-plan", ["sensitivity", "--model", f.model, "--images", f.images, "--labels", f.labels,
                                               "--kinds", "flip9", "--out", out])
        XCTAssertNotEqual(badKind.status, 0)
        XCTAssertTrue(badKind.stderr.contains("unknown kind 'flip9'"), badKind.stderr)
    }

    /// Ctrl-C mid-run leaves a checkpoint; --resume finishes with the files of an uninterrupted run.
    func testInterruptedRunResumes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sensitivity-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try DeviceFixtures.make(in: dir)
        func arguments(_ out: String) -> [String] {
            ["sensitivity", "--model", f.model, "--images", f.images, "--labels", f.labels, "--layers", "c0,h0",
             "--fr-max", "flip1=0.01,0.05", "--fr-max", "bitflip=0.05", "--fr-max", "flip0=0.5", "--fr-max", "tf32=0.2,0.5",
             "--fr-max", "bf16=0.5", "--device-seeds", "3", "--trials", "60", "--threads", "1",
             "--block-threads", "8", "--blocks", "4", "--out", out]
        }
        let whole = dir.appendingPathComponent("whole").path
        let reference = try CLI.run("has-plan", arguments(whole))
        XCTAssertEqual(reference.status, 0, reference.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: whole + "/sensitivity.checkpoint.json"))

        let out = dir.appendingPathComponent("parts").path
        let checkpoint = out + "/sensitivity.checkpoint.json"
        let process = Process()
        process.executableURL = CLI.productsDirectory.appendingPathComponent("has-plan")
        process.arguments = arguments(out)
        // Held after its first checkpoint, so the interrupt comes at a known point, never after the end.
        process.environment = ProcessInfo.processInfo.environment.merging(["HAS_HOLD_AFTER_CHECKPOINT": "1"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint) && process.isRunning && Date() < deadline { usleep(2000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint), "no checkpoint within 120 s")
        XCTAssertTrue(process.isRunning, "the run ended before it could be interrupted")
        process.interrupt()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the run ended before it could be interrupted")
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checkpoint))) as? [String: Any]
        let cells = try XCTUnwrap((saved?["content"] as? [String: Any])?["cells"] as? [Any])
        XCTAssertEqual((saved?["digest"] as? String)?.count, 64, "checkpoints carry the digest of their content")
        XCTAssertGreaterThan(cells.count, 0)
        XCTAssertLessThan(cells.count, 2 * 7 * 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/sensitivity.csv"))

        let other = try CLI.run("has-plan", arguments(out).map { $0 == "60" ? "2" : $0 } + ["--resume"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("the checkpoint is for another model, image set or settings"), other.stderr)
        let resumed = try CLI.run("has-plan", arguments(out) + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        for name in ["sensitivity.csv", "summary.csv", "sensitivity.svg"] {
            XCTAssertEqual(try String(contentsOfFile: out + "/" + name, encoding: .utf8),
                           try String(contentsOfFile: whole + "/" + name, encoding: .utf8), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpoint))
        let none = try CLI.run("has-plan", arguments(out) + ["--resume"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("no checkpoint to resume from"), none.stderr)
    }
}
