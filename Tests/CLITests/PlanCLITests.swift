import Foundation
import HASDiagnosis
import HASRuntime
import XCTest

/// `has-plan` end to end through the built binaries: the plan file and its
/// logs, the never-replace-a-better-plan rule, `has-run` applying the plan it
/// finds by fingerprint, and an interrupted run resumed to the same plan.
final class PlanCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("plan-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The tiny model of `DeviceFixtures`, a bitflip device, and has-plan's problem options for h0.
    func problem() throws -> (fixtures: (model: String, images: String, labels: String), profile: FaultProfile, args: [String]) {
        let f = try DeviceFixtures.make(in: dir)
        let profile = try FaultProfile.synthetic(kind: .bitflip, frMax: 0.3, seed: 7, blocks: 4, threads: 8)
        try profile.write(to: path("dev.json"))
        let args = ["--model", f.model, "--images", f.images, "--labels", f.labels, "--profile", path("dev.json"),
                    "--layers", "h0", "--fitness-range", "0:20", "--held-out-range", "20:40", "--threads", "2"]
        return (f, profile, args)
    }

    func json(_ run: CLI.Result) throws -> [String: Any] {
        XCTAssertEqual(run.status, 0, run.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
    }

    func testPlanIsWrittenKeptAndAppliedByHasRun() throws {
        let (f, profile, args) = try problem()
        let plans = path("Plans")
        let ga = ["--generations", "4", "--population", "6", "--plans", plans, "--json"]
        let first = try json(try CLI.run("has-plan", ["plan"] + args + ["--strategy", "hybrid"] + ga))
        let planPath = SchedulePlan.path(in: plans, model: "tiny", fingerprint: profile.fingerprint)
        XCTAssertEqual(first["plan"] as? String, planPath)
        let base = String(planPath.dropLast(5))
        for file in [planPath, base + ".convergence.csv", base + ".convergence.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: file), file)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: (planPath as NSString).deletingLastPathComponent)
        XCTAssertEqual(left.filter { $0.hasSuffix(".checkpoint.json") || $0.hasSuffix(".lock") || $0.contains(".tmp-") }, [],
                       "a finished run leaves no checkpoint, lock or temporary file")
        let plan = try SchedulePlan.load(from: planPath)
        XCTAssertEqual(plan.layers.map(\.name), ["h0"])
        XCTAssertEqual(plan.profileFingerprint, profile.fingerprint)
        let fitness = try XCTUnwrap(first["fitness_accuracy"] as? [String: Any])
        let planned = try XCTUnwrap(fitness["planned"] as? Double), faulty = try XCTUnwrap(fitness["faulty"] as? Double)
        XCTAssertGreaterThanOrEqual(planned, faulty, "the identity schedule is in the search, so the plan cannot be worse")

        // has-run finds the plan by (model, fingerprint) and, on the fitness images with the fitness
        // seeds, reproduces the planner's numbers with and without it.
        let run = try json(try CLI.run("has-run", ["--model", f.model, "--images", f.images, "--labels", f.labels,
                                                   "--limit", "20", "--device", path("dev.json"), "--faulty-layers", "h0",
                                                   "--seed", "1", "--trials", "3", "--plans", plans, "--compare", "--json"]))
        XCTAssertEqual(run["plan"] as? String, planPath)
        XCTAssertEqual(try XCTUnwrap(run["accuracy"] as? Double), planned, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(run["unplanned_accuracy"] as? Double), faulty, accuracy: 1e-12)

        // A plan that measured better is kept (file untouched) unless --force.
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: planPath))) as? [String: Any])
        var accuracy = try XCTUnwrap(object["accuracy"] as? [String: Any])
        var heldOut = try XCTUnwrap(accuracy["held_out"] as? [String: Any])
        heldOut["planned"] = ["mean": 1.0, "std": 0.0, "trials": [1.0, 1.0, 1.0]]
        accuracy["held_out"] = heldOut
        object["accuracy"] = accuracy
        let better = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try better.write(to: URL(fileURLWithPath: planPath))
        let second = try CLI.run("has-plan", ["plan"] + args + ["--strategy", "ga"] + ga)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("has-plan: kept \(planPath): it measured 100.00%"), second.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: planPath)), better)
        XCTAssertNil(plan.provenance.runs, "one GA run is not recorded as several")
        let forced = try json(try CLI.run("has-plan", ["plan"] + args + ["--strategy", "ga", "--runs", "2", "--force"] + ga))
        XCTAssertEqual(forced["plan"] as? String, planPath)
        XCTAssertEqual(try SchedulePlan.load(from: planPath).provenance.strategy, "ga")
        XCTAssertEqual(try SchedulePlan.load(from: planPath).provenance.runs, 2)
        let log = try String(contentsOfFile: base + ".convergence.csv", encoding: .utf8)
        XCTAssertTrue(log.contains("\nga,run2:4,"), log)
        let noRuns = try CLI.run("has-plan", ["plan"] + args + ["--runs", "0"] + ga)
        XCTAssertNotEqual(noRuns.status, 0)
        XCTAssertTrue(noRuns.stderr.contains("--runs must be at least 1"), noRuns.stderr)

        // A plan for another device is refused with a one-line error naming the file.
        let other = try FaultProfile.synthetic(kind: .bitflip, frMax: 0.3, seed: 8, blocks: 4, threads: 8)
        try other.write(to: path("other.json"))
        let wrong = try CLI.run("has-run", ["--model", f.model, "--images", f.images, "--device", path("other.json"),
                                            "--plan", planPath])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.hasPrefix("Error: \(planPath):"), wrong.stderr)
        XCTAssertEqual(wrong.stderr.split(separator: "\n").count, 1, wrong.stderr)
    }

    func testInterruptedRunResumesToTheUninterruptedResult() throws {
        let (_, _, args) = try problem()
        let ga = ["--strategy", "ga", "--generations", "60", "--population", "12", "--held-out-range", ""]
        let reference = try json(try CLI.run("has-plan", ["plan"] + args + ga + ["--out", path("ref.json"), "--json"]))
        XCTAssertEqual(reference["plan"] as? String, path("ref.json"))

        // Interrupt a second run held after its first checkpoint (SIGINT, as Ctrl-C), then resume it.
        let nothing = try CLI.run("has-plan", ["plan"] + args + ga + ["--out", path("run.json"), "--resume"])
        XCTAssertNotEqual(nothing.status, 0)
        // The run's own checkpoint: beside the plan, named by the digest of the run's settings.
        let lines = nothing.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, nothing.stderr)
        let checkpoint = String(try XCTUnwrap(lines.first).dropFirst("Error: ".count).prefix { $0 != ":" })
        XCTAssertTrue(checkpoint.hasPrefix(path("run.")) && checkpoint.hasSuffix(".checkpoint.json"), checkpoint)
        XCTAssertTrue(nothing.stderr.hasSuffix(": no checkpoint to resume from (run without --resume to start)\n"), nothing.stderr)
        let process = Process()
        process.executableURL = CLI.productsDirectory.appendingPathComponent("has-plan")
        process.arguments = ["plan"] + args + ga + ["--out", path("run.json")]
        process.environment = ProcessInfo.processInfo.environment.merging(["HAS_HOLD_AFTER_CHECKPOINT": "1"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: checkpoint) && process.isRunning && Date() < deadline {
            usleep(2_000)
        }
        // Held: it cannot have finished, whatever the machine's load.
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint), "no checkpoint within 60 s")
        XCTAssertTrue(process.isRunning, "the run ended before it could be interrupted")
        process.interrupt()
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0, "an interrupted run does not report success")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("run.json")), "no plan from an interrupted run")
        let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checkpoint))) as? [String: Any])
        XCTAssertFalse(state.isEmpty)
        let resumed = try json(try CLI.run("has-plan", ["plan"] + args + ga + ["--out", path("run.json"), "--resume", "--json"]))
        XCTAssertEqual(resumed["fitness"] as? Double, reference["fitness"] as? Double)
        XCTAssertEqual(resumed["evaluations"] as? Int, reference["evaluations"] as? Int)
        XCTAssertEqual(try SchedulePlan.load(from: path("run.json")).layers.map(\.permutation),
                       try SchedulePlan.load(from: path("ref.json")).layers.map(\.permutation))
    }

    func testCompareMeasuresEachStrategyOnTheHeldOutImagesAsPlanDoes() throws {
        let (_, _, args) = try problem()
        let ga = ["--generations", "4", "--population", "6"]
        let compare = try CLI.run("has-plan", ["compare"] + args + ga + ["--out", path("cmp")])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        let rows = try String(contentsOfFile: path("cmp.summary.csv"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.first, ["strategy", "evaluations", "seconds", "fitness", "reached_ga_final_after", "held_out_mean", "held_out_std"])
        XCTAssertEqual(rows.dropFirst().map { $0[0] }, ["unshuffled", "ga", "assign", "hybrid"])
        let byName = Dictionary(uniqueKeysWithValues: rows.dropFirst().map { ($0[0], $0) })
        let gaReached = try XCTUnwrap(Int(byName["ga"]![4])), gaEvaluations = try XCTUnwrap(Int(byName["ga"]![1]))
        XCTAssertLessThanOrEqual(gaReached, gaEvaluations, "the GA reaches its own final fitness within its run")

        // `plan` with the same problem and GA settings measures the same held-out numbers.
        let plan = try json(try CLI.run("has-plan", ["plan"] + args + ga + ["--strategy", "ga", "--out", path("ga.json"), "--json"]))
        let heldOut = try XCTUnwrap(plan["held_out_accuracy"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(Double(byName["unshuffled"]![5])), try XCTUnwrap(heldOut["faulty"] as? Double), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(Double(byName["ga"]![5])), try XCTUnwrap(heldOut["planned"] as? Double), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(Double(byName["ga"]![3])), try XCTUnwrap(plan["fitness"] as? Double), accuracy: 1e-12)
    }

    /// has-plan held after its first checkpoint (`HAS_HOLD_AFTER_CHECKPOINT`), released by SIGUSR1.
    func startHeld(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = CLI.productsDirectory.appendingPathComponent("has-plan")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["HAS_HOLD_AFTER_CHECKPOINT": "1"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Two runs on one store: a second run of the same settings is refused while the
    /// first runs, and a run that started before a better plan was stored keeps it.
    func testConcurrentRunsOnOneStoreKeepTheBetterPlan() throws {
        let (_, profile, args) = try problem()
        let plans = path("Plans")
        let weak = ["plan"] + args + ["--strategy", "ga", "--generations", "1", "--population", "2", "--seed", "5",
                                      "--plans", plans]
        let held = try startHeld(weak)
        defer { if held.isRunning { held.terminate() } }
        let directory = (SchedulePlan.path(in: plans, model: "tiny", fingerprint: profile.fingerprint) as NSString)
            .deletingLastPathComponent
        let deadline = Date().addingTimeInterval(60)
        func checkpoints() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".checkpoint.json") }
        }
        while checkpoints().isEmpty && held.isRunning && Date() < deadline { usleep(2_000) }
        XCTAssertEqual(checkpoints().count, 1, "the held run wrote its checkpoint")
        XCTAssertTrue(held.isRunning)

        let twin = try CLI.run("has-plan", weak)
        XCTAssertNotEqual(twin.status, 0)
        XCTAssertTrue(twin.stderr.contains("locked: another has-plan run of these settings holds it"), twin.stderr)

        // A better plan is stored while the weak run is still held ...
        let strong = try json(try CLI.run("has-plan", ["plan"] + args + ["--strategy", "hybrid", "--generations", "4",
                                                                          "--population", "6", "--plans", plans, "--json"]))
        let stored = try SchedulePlan.load(from: try XCTUnwrap(strong["plan"] as? String))
        // ... and survives the weak run's end: the comparison happens when it replaces, not when it starts.
        kill(held.processIdentifier, SIGUSR1)
        held.waitUntilExit()
        XCTAssertEqual(held.terminationStatus, 0)
        let after = try SchedulePlan.load(from: try XCTUnwrap(strong["plan"] as? String))
        XCTAssertEqual(after.layers.map(\.permutation), stored.layers.map(\.permutation))
        XCTAssertEqual(after.provenance.strategy, "hybrid")
        XCTAssertEqual(checkpoints(), [], "both runs removed their checkpoints")
    }
}

