import ArgumentParser
import Foundation
import HASPlanner
import HASRuntime

/// `has-plan compare …`: ga, assign and hybrid on the same problem and seeds.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run ga, assign and hybrid on the same problem and seeds; fitness vs evaluations (CSV + SVG).",
        discussion: """
            Writes <out>.csv (strategy, generation, evaluations, best and mean fitness, seconds) \
            and <out>.svg, prints how many evaluations each strategy needed to reach the GA's \
            final fitness, and measures each strategy's final plan on the held-out images \
            (<out>.summary.csv). No plan is written.

            """ + DefaultTestSet.help
    )

    @OptionGroup var problem: ProblemOptions
    @OptionGroup var ga: GAOptions

    @Option(help: "Output prefix: writes PREFIX.csv, PREFIX.svg and PREFIX.summary.csv.")
    var out: String

    func run() throws {
        let loaded = try problem.load()
        let config = ga.configuration
        var results: [(Strategy, PlanRunner.Result)] = []
        var search = try problem.search(loaded)
        for strategy in [Strategy.ga, .assign, .hybrid] {
            // A fresh evaluator per strategy: none inherits another's memo (its timings would flatter it).
            if strategy != .ga { search = try problem.search(loaded) }
            let key = PlanRunKey(model: loaded.network.name, weightsDigest: loaded.bundle.weightsDigest,
                                 fingerprint: loaded.profile.fingerprint, layers: search.layers.map(\.name),
                                 strategy: strategy, fitnessImages: problem.fitnessRange, faultSeeds: problem.fitnessSeeds,
                                 configuration: config, climbBudget: ga.climb, runs: ga.runs, robust: problem.robust,
                             robustSeed: problem.robustSeed)
            let runner = PlanRunner(search: search, strategy: strategy, configuration: config, key: key)
            runner.polishBudget = ga.polish
            runner.climbBudget = ga.climb
            let bar = ProgressBar(total: strategy == .assign ? 1 : config.generations * ga.runs, label: strategy.rawValue)
            runner.onProgress = { generation, _, best, evaluations, _ in
                bar.update(generation, status: String(format: "best %.4f, %d evaluations", best, evaluations))
            }
            results.append((strategy, try runner.run()))
            bar.finish()
        }
        var csv = ""
        for (i, (strategy, result)) in results.enumerated() {
            let text = PlanRunner.convergenceCSV(result, strategy: strategy)
            csv += i == 0 ? text : String(text.drop { $0 != "\n" }.dropFirst())
        }
        try writeFileAtomically(csv, to: out + ".csv")
        let title = "\(loaded.network.name) \(search.layers.map(\.name).joined(separator: "+")) \(loaded.profile.kind.rawValue): best fitness vs evaluations"
        let svg = LinePlot.svg(title: title, xLabel: "fitness evaluations (each over \(problem.evals) fault draws)",
                               yLabel: "best fitness (mean accuracy)",
                               series: results.map { s, r in .init(name: s.rawValue, points: r.convergence.map { (Double($0.evaluations), $0.best) }) })
        try writeFileAtomically(svg, to: out + ".svg")

        let faulty = search.fitness(search.identity)
        let target = results.first { $0.0 == .ga }!.1.fitness
        print(String(format: "fitness images %@: clean %.2f%%, unshuffled %.2f%%", problem.fitnessRange,
                     search.evaluator.cleanAccuracy * 100, faulty * 100))
        // Held-out accuracy of each strategy's final plan: whether its fitness gains carry over.
        let heldOut = try HeldOutMeasurement(problem: problem, loaded: loaded, layers: search.layers.map(\.name))
        let unshuffled = heldOut?.measure([:])
        if let heldOut, let unshuffled {
            print(String(format: "held-out images %@ (fault seeds %llu…): clean %.2f%%, unshuffled %@", heldOut.range,
                         heldOut.seed, heldOut.evaluator.cleanAccuracy * 100, percent(unshuffled)))
        }
        var summary = "strategy,evaluations,seconds,fitness,reached_ga_final_after,held_out_mean,held_out_std\n"
        if let unshuffled { summary += "unshuffled,0,0,\(faulty),,\(unshuffled.mean),\(unshuffled.std)\n" }
        for (strategy, result) in results {
            let reached = result.convergence.first { $0.best >= target }
            let reach = reached
                .map { String(format: "reached the GA's final %.4f after %d evaluations (%.1f s)", target, $0.evaluations, $0.seconds) }
                ?? String(format: "never reached the GA's final %.4f", target)
            let held = heldOut?.measure(search.evaluator.permutations(result.chromosome))
            print(String(format: "%-7@ final %.4f after %5d evaluations, %.1f s; %@%@",
                         strategy.rawValue, result.fitness, result.evaluations, result.seconds, reach,
                         held.map { "; held-out " + percent($0) } ?? ""))
            summary += "\(strategy.rawValue),\(result.evaluations),\(result.seconds),\(result.fitness),"
                + "\(reached.map { String($0.evaluations) } ?? ""),\(held.map { String($0.mean) } ?? ""),\(held.map { String($0.std) } ?? "")\n"
        }
        try writeFileAtomically(summary, to: out + ".summary.csv")
        print("wrote \(out).csv, \(out).svg, \(out).summary.csv")
    }
}
