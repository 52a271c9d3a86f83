import ArgumentParser
import Foundation
import HASCommandLine
import HASPlanner
import HASRuntime

/// `has-plan [plan] …`: search row permutations for a device and write the plan.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Search row permutations for a faulty device and write the schedule plan.",
        discussion: """
            Strategies: ga (the paper's genetic algorithm), assign (measure each row's cost of \
            errors and match rows to positions by their PEs' fault rates), hybrid (the GA \
            seeded with the assignment). The plan goes to Plans/<model>/<fingerprint>.json \
            unless --out is given, with a convergence log (.csv) and plot (.svg) beside it. \
            The GA checkpoints after every generation; --resume continues an interrupted run \
            to the result it would have reached uninterrupted.

            """ + DefaultTestSet.help
    )

    @OptionGroup var problem: ProblemOptions
    @OptionGroup var ga: GAOptions

    @Option(help: "Search strategy: ga, assign or hybrid.")
    var strategy: Strategy = .hybrid

    @Option(help: "Plan file to write (default: <plans>/<model>/<fingerprint>.json).")
    var out: String?

    @Option(help: "Directory of plans, for the default --out.")
    var plans: String = "Plans"

    @Option(help: "Checkpoint file (default: beside the plan, <plan>.<settings digest>.checkpoint.json).")
    var checkpoint: String?

    @Flag(help: "Continue from the checkpoint of an interrupted run.")
    var resume = false

    @Flag(help: "Replace an existing plan even if it measured better.")
    var force = false

    @Flag(help: "Print the result as one JSON object on stdout.")
    var json = false

    func run() throws {
        CheckpointHold.prepare()
        let loaded = try problem.load()
        let network = loaded.network, profile = loaded.profile
        let fingerprint = profile.fingerprint
        let outPath = out ?? SchedulePlan.path(in: plans, model: network.name, fingerprint: fingerprint)
        let base = outPath.hasSuffix(".json") ? String(outPath.dropLast(5)) : outPath
        try checkWritable(outPath)

        let search = try problem.search(loaded)
        let config = ga.configuration
        let key = PlanRunKey(model: network.name, weightsDigest: loaded.bundle.weightsDigest, fingerprint: fingerprint,
                             layers: search.layers.map(\.name), strategy: strategy, fitnessImages: problem.fitnessRange,
                             faultSeeds: problem.fitnessSeeds, configuration: config,
                             climbBudget: ga.climb, runs: ga.runs, robust: problem.robust,
                             robustSeed: problem.robustSeed)
        // One checkpoint per run (its settings' digest in the name), held locked while the run
        // lasts: two runs on one store never share or clobber a checkpoint.
        let checkpointPath = checkpoint ?? base + ".\(key.digest.prefix(12)).checkpoint.json"
        let checkpointLock = try FileLock(path: checkpointPath + ".lock", wait: false, holder: "another has-plan run of these settings")
        defer {
            checkpointLock.unlock()
            unlink(checkpointPath + ".lock")
        }
        let resumeFrom = resume ? try PlanCheckpoint.load(from: checkpointPath) : nil
        let runner = PlanRunner(search: search, strategy: strategy, configuration: config, key: key)
        runner.polishBudget = ga.polish
        runner.climbBudget = ga.climb
        runner.checkpointPath = strategy == .assign ? nil : checkpointPath
        runner.afterCheckpoint = CheckpointHold.checkpointWritten
        let bar = ProgressBar(total: strategy == .assign ? 1 : config.generations * ga.runs, label: "planning \(strategy.rawValue)")
        runner.onProgress = { generation, _, best, evaluations, seconds in
            let rate = Double(evaluations) / max(seconds, 1e-9)
            bar.update(generation, status: String(format: "gen %d best %.4f %.1f eval/s", generation, best, rate))
        }
        // The cost matrices of a large layer take minutes: their progress is shown per layer.
        var assignBar: ProgressBar?
        runner.onAssignmentProgress = { layer, done, total in
            if assignBar?.label != "cost matrix \(layer)" {
                assignBar?.finish()
                assignBar = ProgressBar(total: total, label: "cost matrix \(layer)")
            }
            assignBar?.update(done, status: "positions")
        }
        let result = try runner.run(resume: resumeFrom, checkpointFile: checkpointPath)
        assignBar?.finish()
        bar.finish()

        // Accuracies: fitness images (the search's fault seeds) and held-out images (other seeds).
        let planned = search.evaluator.permutations(result.chromosome)
        let fitnessAccuracy = SchedulePlan.ImageSetAccuracy(
            images: loaded.fitness.range, clean: search.evaluator.cleanAccuracy,
            faulty: .init(trials: search.evaluator.accuracies(permutations: [:], seeds: problem.fitnessSeeds)),
            planned: .init(trials: search.evaluator.accuracies(permutations: planned, seeds: problem.fitnessSeeds)))
        let heldOutAccuracy = try HeldOutMeasurement(problem: problem, loaded: loaded, layers: search.layers.map(\.name))?
            .accuracy(planned: planned)
        let isGA = strategy != .assign
        let plan = SchedulePlan(
            model: .init(name: network.name, weightsDigest: loaded.bundle.weightsDigest),
            profileFingerprint: fingerprint,
            layers: zip(search.layers, result.chromosome).map { .init(name: $0.name, permutation: $1) },
            provenance: .init(strategy: strategy.rawValue, seed: ga.seed, faultSeeds: problem.fitnessSeeds,
                              population: isGA ? config.population : nil, generations: result.generations,
                              crossoverRate: isGA ? config.crossoverRate : nil, mutationRate: isGA ? config.mutationRate : nil,
                              polish: strategy == .hybrid && ga.polish > 0 ? ga.polish : nil,
                              climb: strategy == .hybrid ? ga.climb ?? 5 * config.population : nil,
                              runs: isGA && ga.runs > 1 ? ga.runs : nil, robust: problem.robust > 0 ? problem.robust : nil,
                              evaluations: result.evaluations, wallSeconds: (result.seconds * 10).rounded() / 10,
                              fitnessImages: loaded.fitness.range, heldOutImages: loaded.heldOut?.range,
                              dataset: loaded.imagesPath, created: ISO8601DateFormatter().string(from: Date())),
            accuracy: .init(fitness: fitnessAccuracy, heldOut: heldOutAccuracy))

        // Never replace a plan that measured better (on the same images) unless forced: decided
        // under the store's lock at the moment of replacing, so a concurrent run's plan counts.
        let storeLock = try FileLock(path: URL(fileURLWithPath: outPath).deletingLastPathComponent().path,
                                     holder: "another has-plan run")
        defer { storeLock.unlock() }
        let existing = FileManager.default.fileExists(atPath: outPath)
            ? try? SchedulePlan.load(from: outPath, maxBytes: SchedulePlan.maxFileBytes(for: network)) : nil
        var written = true
        if let existing, !force, existing.layers.map(\.name) != plan.layers.map(\.name) {
            // Accuracies of plans for other layers are not comparable: never replace one silently.
            written = false
            StandardError.write("has-plan: kept \(outPath): it plans layers \(existing.layers.map(\.name).joined(separator: ",")) (use --force to replace it, or --out)")
        } else if let existing, !force, let old = existing.measuredAccuracy, let new = plan.measuredAccuracy, old > new {
            written = false
            StandardError.write(String(format: "has-plan: kept %@: it measured %.2f%%, this run %.2f%% (use --force to replace it)",
                               outPath, old * 100, new * 100))
        } else {
            try plan.write(to: outPath)
        }
        try writeFileAtomically(PlanRunner.convergenceCSV(result, strategy: strategy), to: base + ".convergence.csv")
        let svg = LinePlot.svg(title: "\(network.name) \(plan.layers.map(\.name).joined(separator: "+")) \(profile.kind.rawValue): \(strategy.rawValue)",
                               xLabel: "fitness evaluations", yLabel: "fitness (mean accuracy)",
                               series: [.init(name: "best", points: result.convergence.map { (Double($0.evaluations), $0.best) }),
                                        .init(name: "population mean", points: result.convergence.map { (Double($0.evaluations), $0.mean) })])
        try writeFileAtomically(svg, to: base + ".convergence.svg")
        storeLock.unlock()
        if strategy != .assign { try? FileManager.default.removeItem(atPath: checkpointPath) }

        if let fast = search.evaluator as? IncrementalConvEvaluator, ProcessInfo.processInfo.environment["HAS_PLAN_STATS"] != nil {
            let pairs = fast.effectivePairs
            let perPass = { (count: Int) in Double(count) / Double(max(1, fast.passes)) }
            StandardError.write(String(format: "incremental: %.1f faults/image/seed, %d of %d (position, row) pairs effective; %d passes, %.0f tail images/pass, %.0f memo hits/pass, %.0f certified/pass",
                               fast.meanFaultsPerImage, pairs.effective, pairs.total, fast.passes,
                               perPass(fast.tailImages), perPass(fast.memoHits), perPass(fast.certifiedImages)))
        }
        if json {
            let report = PlanReport(plan: written ? outPath : nil, strategy: strategy.rawValue, fingerprint: fingerprint,
                                    evaluations: result.evaluations, seconds: result.seconds, fitness: result.fitness,
                                    incremental: search.incremental, fitnessAccuracy: .init(fitnessAccuracy),
                                    heldOutAccuracy: heldOutAccuracy.map(PlanReport.Accuracy.init))
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("plan: \(written ? outPath : "(not written)")")
            print(String(format: "strategy %@, %d evaluations × %d fault draws, %.1f s%@", strategy.rawValue, result.evaluations,
                         problem.evals, result.seconds, search.incremental ? " (incremental fitness)" : ""))
            for a in [fitnessAccuracy, heldOutAccuracy].compactMap({ $0 }) {
                let recovered = a.recovery.map { String(format: ", recovered %.0f%% of the loss", $0 * 100) } ?? ""
                print(String(format: "images %@: clean %.2f%%, faulty %@, planned %@%@", a.images, a.clean * 100,
                             percent(a.faulty), percent(a.planned), recovered))
            }
        }
    }
}

/// `has-plan plan --json`: what was planned and how it measured (absent values are null).
struct PlanReport: Encodable {
    struct Accuracy: Encodable {
        var images: String, clean, faulty, faultyStd, planned, plannedStd: Double, recovery: Double?
        init(_ a: SchedulePlan.ImageSetAccuracy) {
            (images, clean, faulty, faultyStd) = (a.images, a.clean, a.faulty.mean, a.faulty.std)
            (planned, plannedStd, recovery) = (a.planned.mean, a.planned.std, a.recovery)
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(images, forKey: .images); try c.encode(clean, forKey: .clean)
            try c.encode(faulty, forKey: .faulty); try c.encode(faultyStd, forKey: .faultyStd)
            try c.encode(planned, forKey: .planned); try c.encode(plannedStd, forKey: .plannedStd)
            try c.encode(recovery, forKey: .recovery)  // null when there was no loss to recover
        }
        enum CodingKeys: CodingKey { case images, clean, faulty, faultyStd, planned, plannedStd, recovery }
    }
    var plan: String?
    var strategy, fingerprint: String
    var evaluations: Int
    var seconds, fitness: Double
    var incremental: Bool
    var fitnessAccuracy: Accuracy
    var heldOutAccuracy: Accuracy?

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(plan, forKey: .plan)  // null: not written (a better plan was kept)
        try c.encode(strategy, forKey: .strategy); try c.encode(fingerprint, forKey: .fingerprint)
        try c.encode(evaluations, forKey: .evaluations); try c.encode(seconds, forKey: .seconds)
        try c.encode(fitness, forKey: .fitness); try c.encode(incremental, forKey: .incremental)
        try c.encode(fitnessAccuracy, forKey: .fitnessAccuracy); try c.encode(heldOutAccuracy, forKey: .heldOutAccuracy)
    }
    enum CodingKeys: CodingKey { case plan, strategy, fingerprint, evaluations, seconds, fitness, incremental, fitnessAccuracy, heldOutAccuracy }
}
