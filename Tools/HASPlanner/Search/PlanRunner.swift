import Foundation
import HASRuntime

/// What identifies a planning run, so that `--resume` refuses a checkpoint
/// made for another problem or other settings.
public struct PlanRunKey: Codable, Equatable, Sendable {
    public var model: String
    public var weightsDigest: String
    public var fingerprint: String
    public var layers: [String]
    public var strategy: Strategy
    public var fitnessImages: String
    public var faultSeeds: [UInt64]
    public var configuration: GAConfiguration
    /// The hybrid's guided-climb budget when set explicitly.
    public var climbBudget: Int?

    public init(model: String, weightsDigest: String, fingerprint: String, layers: [String], strategy: Strategy,
                fitnessImages: String, faultSeeds: [UInt64], configuration: GAConfiguration, climbBudget: Int? = nil) {
        self.model = model; self.weightsDigest = weightsDigest; self.fingerprint = fingerprint; self.layers = layers
        self.strategy = strategy; self.fitnessImages = fitnessImages; self.faultSeeds = faultSeeds
        self.configuration = configuration
        self.climbBudget = climbBudget
    }
}

/// The checkpoint file: the GA state plus what the run spent before it.
public struct PlanCheckpoint: Codable, Equatable, Sendable {
    public var key: PlanRunKey
    public var state: GAState
    /// Evaluation equivalents spent before the GA (hybrid: the assignment and the guided climb).
    public var assignEvaluations: Int
    /// The hybrid's progress before the GA (assignment, then each accepted swap), for the convergence log.
    public var prelude: [PreludePoint]?
    public var elapsedSeconds: Double
    /// Wall time at the end of each generation (parallel to `state.history`).
    public var generationSeconds: [Double]

    public static func load(from path: String) throws -> PlanCheckpoint {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        do { return try JSONDecoder().decode(PlanCheckpoint.self, from: bytes) } catch {
            throw InputError(file: path, "not a has-plan checkpoint (\(error.localizedDescription))")
        }
    }

    public func write(to path: String) throws {
        try writeFileAtomically(Array(try JSONEncoder().encode(self)), to: path)
    }
}

/// One point of progress before the GA starts.
public struct PreludePoint: Codable, Equatable, Sendable {
    public var evaluations: Int
    public var best: Double
    public var seconds: Double
}

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
        public var convergence: [(step: String, evaluations: Int, best: Double, mean: Double, seconds: Double)]
        public var generations: Int?
    }

    public let search: PlanSearch
    public let strategy: Strategy
    public let configuration: GAConfiguration
    public let key: PlanRunKey
    /// Where to write the checkpoint after each generation (nil = none).
    public var checkpointPath: String?
    /// New evaluations the hybrid may spend on `SwapLocalSearch` after the GA (0 = none).
    public var polishBudget = 0
    /// New evaluations the hybrid spends on `GuidedSwapSearch` between the assignment and the GA
    /// (nil: 5 × the population).
    public var climbBudget: Int?
    /// Called after each generation (and once for `assign`).
    public var onProgress: (_ generation: Int, _ of: Int, _ best: Double, _ evaluations: Int, _ seconds: Double) -> Void = { _, _, _, _, _ in }

    public init(search: PlanSearch, strategy: Strategy, configuration: GAConfiguration, key: PlanRunKey) {
        self.search = search
        self.strategy = strategy
        self.configuration = configuration
        self.key = key
    }

    /// - Parameter resume: a checkpoint to continue from (its key must match).
    public func run(resume: PlanCheckpoint? = nil, checkpointFile: String = "checkpoint") throws -> Result {
        let start = Date()
        if strategy == .assign {
            let a = try search.assign()
            let seconds = Date().timeIntervalSince(start)
            onProgress(1, 1, a.fitness, a.evaluationEquivalents, seconds)
            return Result(chromosome: a.chromosome, fitness: a.fitness, evaluations: a.evaluationEquivalents,
                          seconds: seconds, convergence: [("assign", a.evaluationEquivalents, a.fitness, a.fitness, seconds)])
        }
        let ga: GeneticAlgorithm
        var assignEvaluations = 0, before = 0.0
        var times: [Double]
        var prelude: [PreludePoint] = []
        if let resume {
            guard resume.key == key else {
                throw InputError(file: checkpointFile, "the checkpoint is for another problem or other settings; run without --resume to start over")
            }
            ga = GeneticAlgorithm(resuming: resume.state, fitness: search.fitnessFunction)
            assignEvaluations = resume.assignEvaluations
            prelude = resume.prelude ?? []
            before = resume.elapsedSeconds
            times = resume.generationSeconds
        } else {
            var seeds = [search.identity]
            if strategy == .hybrid {
                // Assignment, then swaps in the order its cost matrices rank them, then the GA seeded with the result.
                let a = try search.assign()
                assignEvaluations = a.evaluationEquivalents
                prelude.append(PreludePoint(evaluations: assignEvaluations, best: a.fitness, seconds: Date().timeIntervalSince(start)))
                var finished: [Double] = []  // wall time after each climb evaluation
                let fitness = search.fitnessFunction
                let climb = try GuidedSwapSearch.climb(from: a.chromosome, fitness: a.fitness, matrices: a.matrices,
                                                       budget: climbBudget ?? 5 * configuration.population) { batch in
                    let values = try fitness(batch)
                    finished.append(contentsOf: repeatElement(Date().timeIntervalSince(start), count: batch.count))
                    return values
                }
                for step in climb.improvements {
                    prelude.append(PreludePoint(evaluations: assignEvaluations + step.evaluations, best: step.fitness,
                                                seconds: finished[step.evaluations - 1]))
                }
                assignEvaluations += climb.evaluations
                seeds = PlanSearch.perturbations(of: climb.chromosome, count: configuration.population, seed: configuration.seed)
            }
            ga = try GeneticAlgorithm(configuration: configuration, layerSizes: search.layerSizes, seeds: seeds,
                                      fitness: search.fitnessFunction)
            times = [Date().timeIntervalSince(start)]
        }
        func save(_ state: GAState) throws {
            guard let checkpointPath else { return }
            try PlanCheckpoint(key: key, state: state, assignEvaluations: assignEvaluations, prelude: prelude,
                               elapsedSeconds: before + Date().timeIntervalSince(start), generationSeconds: times)
                .write(to: checkpointPath)
        }
        if resume == nil { try save(ga.state) }
        onProgress(ga.state.generation, configuration.generations, ga.state.best.fitness,
                   ga.state.evaluations + assignEvaluations, before + Date().timeIntervalSince(start))
        try ga.run { state in
            times.append(before + Date().timeIntervalSince(start))
            try save(state)
            onProgress(state.generation, configuration.generations, state.best.fitness,
                       state.evaluations + assignEvaluations, times.last!)
        }
        let history = ga.state.history
        var convergence = prelude.enumerated().map { (i, p) in (i == 0 ? "assign" : "climb", p.evaluations, p.best, p.best, p.seconds) }
        convergence += history.indices.map { i in
            (String(history[i].generation), history[i].evaluations + assignEvaluations, history[i].best, history[i].mean, i < times.count ? times[i] : times.last ?? 0)
        }
        var chromosome = ga.state.best.chromosome, fitness = ga.state.best.fitness
        var evaluations = ga.state.evaluations + assignEvaluations
        if strategy == .hybrid && polishBudget > 0 {
            // Not checkpointed: it is deterministic, so a resumed run redoes it to the same end.
            let known = Dictionary(ga.state.evaluated.map { ($0.chromosome, $0.fitness) }, uniquingKeysWith: { a, _ in a })
            let climb = try SwapLocalSearch.climb(from: chromosome, fitness: fitness, budget: polishBudget, known: known,
                                                  evaluate: search.fitnessFunction)
            for step in climb.improvements {
                convergence.append(("polish", evaluations + step.evaluations, step.fitness, step.fitness,
                                    before + Date().timeIntervalSince(start)))
            }
            (chromosome, fitness) = (climb.chromosome, climb.fitness)
            evaluations += climb.evaluations
            let seconds = before + Date().timeIntervalSince(start)
            convergence.append(("polish", evaluations, fitness, fitness, seconds))
            onProgress(ga.state.generation, configuration.generations, fitness, evaluations, seconds)
        }
        return Result(chromosome: chromosome, fitness: fitness, evaluations: evaluations,
                      seconds: before + Date().timeIntervalSince(start), convergence: convergence,
                      generations: ga.state.generation)
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
