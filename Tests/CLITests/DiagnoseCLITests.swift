import Foundation
import HASDiagnosis
import HASRuntime
import XCTest

/// `has-diagnose` through the built binaries: bad input in one line, the
/// profile and report it writes, a budget-stopped run resumed to the result of
/// an uninterrupted one, and the whole loop diagnose → plan → run.
final class DiagnoseCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("diagnose-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func device(_ kind: ErrorKind = .bitflip, _ frMax: Double = 0.05, name: String = "true.json") throws -> String {
        let profile = try FaultProfile.synthetic(kind: kind, frMax: frMax, seed: 3, blocks: 4, threads: 8)
        try profile.write(to: path(name))
        return path(name)
    }

    /// One line on stderr naming the file, non-zero exit, nothing written (argument-parser's
    /// own option errors add its usage lines after theirs: `usage: true`).
    func assertRefused(_ arguments: [String], mentions words: String, usage: Bool = false, file: StaticString = #filePath,
                       line: UInt = #line) throws {
        let run = try CLI.run("has-diagnose", arguments)
        XCTAssertNotEqual(run.status, 0, file: file, line: line)
        var message = run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if usage { message = String(message.prefix { $0 != "\n" }) }
        XCTAssertEqual(message.split(separator: "\n").count, 1, message, file: file, line: line)
        XCTAssertTrue(message.contains(words), message, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.json")), file: file, line: line)
    }

    func testBadInputIsOneLine() throws {
        try "{\"version\": 1}".write(toFile: path("not-a-profile.json"), atomically: true, encoding: .utf8)
        try assertRefused(["--device", path("not-a-profile.json"), "--out", path("out.json")], mentions: "not-a-profile.json")
        try assertRefused(["--device", path("missing.json"), "--out", path("out.json")], mentions: "missing.json")
        let good = try device()
        try assertRefused(["--device", good, "--out", path("out.json"), "--max-gemms", "0"], mentions: "GEMM budget")
        try assertRefused(["--device", good, "--out", path("out.json"), "--precision", "0"], mentions: "precision")
        try assertRefused(["--device", good, "--out", path("out.json"), "--resume"], mentions: "no checkpoint to resume from")
        try assertRefused(["synth", "--kind", "flip2", "--fr-max", "0.1", "--seed", "1", "--out", path("out.json")],
                          mentions: "--kind", usage: true)
    }

    func testProfileAndReport() throws {
        let truth = try device()
        let run = try CLI.run("has-diagnose", ["--device", truth, "--out", path("diag.json"), "--precision", "0.2",
                                               "--rate-floor", "0.01", "--truth", truth, "--report", path("report")])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("kind: bitflip (exponent bits 0-6)"), run.stdout)
        XCTAssertTrue(run.stdout.contains("kind right"), run.stdout)
        let profile = try FaultProfile.load(path: path("diag.json"))
        XCTAssertTrue(run.stdout.contains(profile.fingerprint))
        XCTAssertEqual(profile.kind, .bitflip)
        guard case .diagnosed(let d) = profile.origin else { return XCTFail("origin \(profile.origin)") }
        XCTAssertEqual(d.identifiedKind, "bitflip")
        XCTAssertEqual(d.unresolved, [])
        XCTAssertGreaterThan(d.samples.joined().min() ?? 0, 0)
        for name in ["estimates.csv", "worst-pes.csv", "rates.svg", "accuracy.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("report/\(name)")), name)
        }
        let estimates = try String(contentsOfFile: path("report/estimates.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(estimates.count, 1 + 32)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("diag.json.checkpoint.json")), "a finished run leaves no checkpoint")
    }

    /// Stopped by its budget, a run keeps its checkpoint; --resume with a larger budget
    /// ends with exactly the profile of an uninterrupted run.
    func testBudgetStoppedRunResumesToTheSameProfile() throws {
        let truth = try device(.flip1, 0.02)
        let common = ["--device", truth, "--precision", "0.1", "--rate-floor", "0.01", "--seed", "4"]
        XCTAssertEqual(try CLI.run("has-diagnose", common + ["--out", path("whole.json")]).status, 0)
        let stopped = try CLI.run("has-diagnose", common + ["--out", path("parts.json"), "--max-gemms", "2"])
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("stopped by the GEMM budget"), stopped.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("parts.json.checkpoint.json")))
        let partial = try FaultProfile.load(path: path("parts.json"))
        guard case .diagnosed(let d) = partial.origin else { return XCTFail() }
        XCTAssertFalse(try XCTUnwrap(d.unresolved).isEmpty, "PEs still uncertain are flagged")

        let other = try CLI.run("has-diagnose", common.map { $0 == "0.1" ? "0.2" : $0 } + ["--out", path("parts.json"), "--resume"])
        XCTAssertNotEqual(other.status, 0, "a checkpoint made with other settings is refused")
        XCTAssertTrue(other.stderr.contains("other settings"), other.stderr)
        let resumed = try CLI.run("has-diagnose", common + ["--out", path("parts.json"), "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try String(contentsOfFile: path("parts.json"), encoding: .utf8),
                       try String(contentsOfFile: path("whole.json"), encoding: .utf8))
    }

    /// Synthetic device → has-diagnose → has-plan on the diagnosed profile → has-run
    /// on the true device with that plan: it recovers accuracy the device lost.
    func testDiagnosePlanRunLoop() throws {
        let f = try DeviceFixtures.make(in: dir)
        let truth = try device(.bitflip, 0.3)
        XCTAssertEqual(try CLI.run("has-diagnose", ["--device", truth, "--out", path("diag.json"), "--precision", "0.2",
                                                    "--rate-floor", "0.01"]).status, 0)
        let plan = try CLI.run("has-plan", ["plan", "--model", f.model, "--images", f.images, "--labels", f.labels,
                                            "--profile", path("diag.json"), "--layers", "h0", "--strategy", "hybrid",
                                            "--generations", "4", "--population", "6", "--fitness-range", "0:40",
                                            "--held-out-range", "", "--out", path("plan.json"), "--threads", "2"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        let saved = try SchedulePlan.load(from: path("plan.json"))
        XCTAssertEqual(saved.profileFingerprint, try FaultProfile.load(path: path("diag.json")).fingerprint)
        let run = try CLI.run("has-run", ["--model", f.model, "--images", f.images, "--labels", f.labels,
                                          "--device", path("diag.json"), "--simulate", truth, "--plan", path("plan.json"),
                                          "--faulty-layers", "h0", "--seed", "1", "--trials", "3", "--compare", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let planned = try XCTUnwrap(json["accuracy"] as? Double), unplanned = try XCTUnwrap(json["unplanned_accuracy"] as? Double)
        let clean = try XCTUnwrap(json["clean_accuracy"] as? Double)
        XCTAssertEqual(json["plan"] as? String, path("plan.json"))
        XCTAssertLessThan(unplanned, clean, "the device costs accuracy")
        XCTAssertGreaterThan(planned, unplanned, "the diagnosed plan wins some of it back on the true device")
    }
}
