import Foundation
import HASRuntime

/// Runs one strategy on a `PlanSearch` to the end, checkpointing the GA after
/// every generation. The CLI's engine; tests call it directly.
public final class PlanRunner {
    public struct Result {
        public var chromosome: Chromosome
        public var fitness: Double
        /// Distinct chromosomes evaluated, plus the assignment's evaluation equivalents.
        public var evaluations: Int
        public var seconds: Double
        /// (evaluations, best and population-mean fitness, seconds) after each step: `step` is
        /// "assign", "climb" (an accepted guided swap), the GA generation, or "polish".
        public var convergence: [Step]
        public typealias Step = (step: String, evaluations: Int, best: Double, mean: Double, seconds: Double)
        public var generations: Int?
    }

    public let search: PlanSearch
    public let strategy: Strategy
    public let configuration: GAConfiguration
    public let key: PlanRunKey
    /// Where to write the checkpoint after each generation (nil = none).
    public var checkpointPath: String?
    /// Called after each checkpoint is written.
    public var afterCheckpoint: () -> Void = {}
    /// New evaluations the hybrid may spend on `SwapLocalSearch` after the GA (0 = none).
    public var polishBudget = 0
    /// New evaluations the hybrid spends on `GuidedSwapSearch` between the assignment and the GA
    /// (nil: 5 × the population).
    public var climbBudget: Int?
    /// Independent GA runs (`key.runs`), seeded `configuration.seed`, +1, …; the best is kept (the
    /// paper runs 3). The hybrid's assignment and guided climb are done once and seed every run.
    public var runs: Int { key.runs ?? 1 }
    /// Called after each generation (and once for `assign`); `generation` counts over all runs.
    public var onProgress: (_ generation: Int, _ of: Int, _ best: Double, _ evaluations: Int, _ seconds: Double) -> Void = { _, _, _, _, _ in }
    /// Progress of the assignment's cost matrices (assign and hybrid): positions measured of a layer's rows.
    public var onAssignmentProgress: (_ layer: String, _ done: Int, _ of: Int) -> Void = { _, _, _ in }

    public init(search: PlanSearch, strategy: Strategy, configuration: GAConfiguration, key: PlanRunKey) {
        self.search = search
        self.strategy = strategy
        self.configuration = configuration
        self.key = key
    }

    /// - Parameter resume: a checkpoint to continue from (its key must match).
    public func run(resume: PlanCheckpoint? = nil, checkpointFile: String = "checkpoint") throws -> Result {
        let startDate = Date()
        if strategy == .assign {
            let a = try search.assign(progress: onAssignmentProgress)
            let seconds = Date().timeIntervalSince(startDate)
            onProgress(1, 1, a.fitness, a.evaluationEquivalents, seconds)
            return Result(chromosome: a.chromosome, fitness: a.fitness, evaluations: a.evaluationEquivalents,
                          seconds: seconds, convergence: [("assign", a.evaluationEquivalents, a.fitness, a.fitness, seconds)])
        }
        var ga: GeneticAlgorithm
        var assignEvaluations = 0, before = 0.0
        var times: [Double]
        var prelude: [PreludePoint] = []
        var finished: [FinishedRun] = []
        var start = search.identity
        if let resume {
            guard resume.key == key else {
                throw InputError(file: checkpointFile, "the checkpoint is for another problem or other settings; run without --resume to start over")
            }
            try resume.validate(layerSizes: search.layerSizes, runs: runs, file: checkpointFile)
            ga = GeneticAlgorithm(resuming: resume.state, fitness: search.fitnessFunction)
            assignEvaluations = resume.assignEvaluations
            prelude = resume.prelude ?? []
            before = resume.elapsedSeconds
            times = resume.generationSeconds
            finished = resume.finishedRuns ?? []
            start = resume.start ?? start
        } else {
            if strategy == .hybrid {
                (start, prelude, assignEvaluations) = try hybridStart(since: startDate)
            }
            ga = try startRun(0, from: start)
            times = [Date().timeIntervalSince(startDate)]
        }
        func save(_ state: GAState) throws {
            guard let checkpointPath else { return }
            try PlanCheckpoint(key: key, state: state, finishedRuns: finished.isEmpty ? nil : finished,
                               start: strategy == .hybrid ? start : nil, assignEvaluations: assignEvaluations,
                               prelude: prelude, elapsedSeconds: before + Date().timeIntervalSince(startDate),
                               generationSeconds: times).write(to: checkpointPath)
            afterCheckpoint()
        }
        // Progress counts evaluations over the runs (a chromosome met in two runs counts twice there only).
        func report(_ state: GAState) {
            let best = (finished.map(\.state.best.fitness) + [state.best.fitness]).max()!
            onProgress(finished.count * configuration.generations + state.generation, runs * configuration.generations, best,
                       finished.reduce(0) { $0 + $1.state.evaluations } + state.evaluations + assignEvaluations,
                       before + Date().timeIntervalSince(startDate))
        }
        if resume == nil { try save(ga.state) }
        report(ga.state)
        while true {
            try ga.run { state in
                times.append(before + Date().timeIntervalSince(startDate))
                try save(state)
                report(state)
            }
            finished.append(FinishedRun(state: ga.state, generationSeconds: times))
            if finished.count >= runs { break }
            ga = try startRun(finished.count, from: start)
            times = [before + Date().timeIntervalSince(startDate)]
            try save(ga.state)
            report(ga.state)
        }

        let logged = PlanRunner.convergence(prelude: prelude, runs: finished, offset: assignEvaluations)
        var convergence = logged.log
        // The best run's best; an earlier run wins ties.
        let best = finished.map(\.state.best).enumerated().max { a, b in
            a.element.fitness != b.element.fitness ? a.element.fitness < b.element.fitness : a.offset > b.offset
        }!.element
        var chromosome = best.chromosome, fitness = best.fitness
        var evaluations = logged.distinct + assignEvaluations
        if strategy == .hybrid && polishBudget > 0 {
            // Not checkpointed: it is deterministic, so a resumed run redoes it to the same end.
            let known = Dictionary(finished.flatMap(\.state.evaluated).map { ($0.chromosome, $0.fitness) }, uniquingKeysWith: { a, _ in a })
            let climb = try SwapLocalSearch.climb(from: chromosome, fitness: fitness, budget: polishBudget, known: known,
                                                  evaluate: search.fitnessFunction)
            for step in climb.improvements {
                convergence.append(("polish", evaluations + step.evaluations, step.fitness, step.fitness,
                                    before + Date().timeIntervalSince(startDate)))
            }
            (chromosome, fitness) = (climb.chromosome, climb.fitness)
            evaluations += climb.evaluations
            let seconds = before + Date().timeIntervalSince(startDate)
            convergence.append(("polish", evaluations, fitness, fitness, seconds))
            onProgress(runs * configuration.generations, runs * configuration.generations, fitness, evaluations, seconds)
        }
        return Result(chromosome: chromosome, fitness: fitness, evaluations: evaluations,
                      seconds: before + Date().timeIntervalSince(startDate), convergence: convergence,
                      generations: ga.state.generation)
    }

    /// The hybrid before its GA: the assignment, then swaps in the order its cost matrices rank
    /// them. Returns the plan that seeds the GA, the progress points, and the evaluation equivalents spent.
    private func hybridStart(since startDate: Date) throws -> (Chromosome, [PreludePoint], Int) {
        let a = try search.assign(progress: onAssignmentProgress)
        var prelude = [PreludePoint(evaluations: a.evaluationEquivalents, best: a.fitness, seconds: Date().timeIntervalSince(startDate))]
        var finishedAt: [Double] = []  // wall time after each climb evaluation
        let fitness = search.fitnessFunction
        let climb = try GuidedSwapSearch.climb(from: a.chromosome, fitness: a.fitness, matrices: a.matrices,
                                               budget: climbBudget ?? 5 * configuration.population) { batch in
            let values = try fitness(batch)
            finishedAt.append(contentsOf: repeatElement(Date().timeIntervalSince(startDate), count: batch.count))
            return values
        }
        for step in climb.improvements {
            prelude.append(PreludePoint(evaluations: a.evaluationEquivalents + step.evaluations, best: step.fitness,
                                        seconds: finishedAt[step.evaluations - 1]))
        }
        return (climb.chromosome, prelude, a.evaluationEquivalents + climb.evaluations)
    }

    /// GA run `index` (0 = the first): the search seed plus `index`, starting from the identity (ga) or
    /// from perturbations of the hybrid's starting plan.
    private func startRun(_ index: Int, from start: Chromosome) throws -> GeneticAlgorithm {
        if index > 0 { search.evaluator.forgetCandidates() }  // one run's caches at a time: memory flat over --runs
        var config = configuration
        config.seed = configuration.seed &+ UInt64(index)
        let seeds = strategy == .hybrid
            ? PlanSearch.perturbations(of: start, count: config.population, seed: config.seed) : [search.identity]
        return try GeneticAlgorithm(configuration: config, layerSizes: search.layerSizes, seeds: seeds,
                                    fitness: search.fitnessFunction)
    }

    /// The convergence log of the steps before the GA and of each GA run, and how many distinct
    /// chromosomes the runs evaluated. Evaluations count distinct chromosomes over all runs (plus
    /// `offset`, what was spent before the GA); best is the best so far.
    static func convergence(prelude: [PreludePoint], runs: [FinishedRun], offset: Int) -> (log: [Result.Step], distinct: Int) {
        var log: [Result.Step] = prelude.enumerated().map { (i, p) in (i == 0 ? "assign" : "climb", p.evaluations, p.best, p.best, p.seconds) }
        var seen = Set<Chromosome>(), bestSoFar = -Double.infinity
        for (run, record) in runs.enumerated() {
            var counted = 0
            func count(upTo n: Int) {
                while counted < n { seen.insert(record.state.evaluated[counted].chromosome); counted += 1 }
            }
            for (i, h) in record.state.history.enumerated() {
                count(upTo: h.evaluations)
                bestSoFar = max(bestSoFar, h.best)
                let seconds = i < record.generationSeconds.count ? record.generationSeconds[i] : record.generationSeconds.last ?? 0
                log.append((runs.count == 1 ? String(h.generation) : "run\(run + 1):\(h.generation)",
                            seen.count + offset, bestSoFar, h.mean, seconds))
            }
            count(upTo: record.state.evaluated.count)
        }
        return (log, seen.count)
    }

    /// The convergence log as CSV.
    public static func convergenceCSV(_ result: Result, strategy: Strategy) -> String {
        var s = "strategy,step,evaluations,best_fitness,mean_fitness,seconds\n"
        for p in result.convergence {
            s += "\(strategy.rawValue),\(p.step),\(p.evaluations),\(p.best),\(p.mean),\(String(format: "%.3f", p.seconds))\n"
        }
        return s
    }
}
