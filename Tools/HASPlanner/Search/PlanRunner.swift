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

    public init(model: String, weightsDigest: String, fingerprint: String, layers: [String], strategy: Strategy,
                fitnessImages: String, faultSeeds: [UInt64], configuration: GAConfiguration) {
        self.model = model; self.weightsDigest = weightsDigest; self.fingerprint = fingerprint; self.layers = layers
        self.strategy = strategy; self.fitnessImages = fitnessImages; self.faultSeeds = faultSeeds
        self.configuration = configuration
    }
}

/// The checkpoint file: the GA state plus what the run spent before it.
public struct PlanCheckpoint: Codable, Equatable, Sendable {
    public var key: PlanRunKey
    public var state: GAState
    /// Evaluation equivalents spent by the assignment (hybrid).
    public var assignEvaluations: Int
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

/// Runs one strategy on a `PlanSearch` to the end, checkpointing the GA after
/// every generation. The CLI's engine; tests call it directly.
public final class PlanRunner {
    public struct Result {
        public var chromosome: Chromosome
        public var fitness: Double
        /// Distinct chromosomes evaluated, plus the assignment's evaluation equivalents.
        public var evaluations: Int
        public var seconds: Double
        /// (evaluations, best fitness, seconds) after each generation (one point for `assign`).
        public var convergence: [(evaluations: Int, best: Double, mean: Double, seconds: Double)]
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
            let fitness = search.fitness(a.chromosome)
            let seconds = Date().timeIntervalSince(start)
            onProgress(1, 1, fitness, a.evaluationEquivalents + 1, seconds)
            return Result(chromosome: a.chromosome, fitness: fitness, evaluations: a.evaluationEquivalents + 1,
                          seconds: seconds, convergence: [(a.evaluationEquivalents + 1, fitness, fitness, seconds)])
        }
        let ga: GeneticAlgorithm
        var assignEvaluations = 0, before = 0.0
        var times: [Double]
        if let resume {
            guard resume.key == key else {
                throw InputError(file: checkpointFile, "the checkpoint is for another problem or other settings; run without --resume to start over")
            }
            ga = GeneticAlgorithm(resuming: resume.state, fitness: search.fitnessFunction)
            assignEvaluations = resume.assignEvaluations
            before = resume.elapsedSeconds
            times = resume.generationSeconds
        } else {
            var seeds = [search.identity]
            if strategy == .hybrid {
                let a = try search.assign()
                assignEvaluations = a.evaluationEquivalents
                seeds = PlanSearch.perturbations(of: a.chromosome, count: configuration.population, seed: configuration.seed)
            }
            ga = try GeneticAlgorithm(configuration: configuration, layerSizes: search.layerSizes, seeds: seeds,
                                      fitness: search.fitnessFunction)
            times = [Date().timeIntervalSince(start)]
        }
        func save(_ state: GAState) throws {
            guard let checkpointPath else { return }
            try PlanCheckpoint(key: key, state: state, assignEvaluations: assignEvaluations,
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
        var convergence = history.indices.map { i in
            (history[i].evaluations + assignEvaluations, history[i].best, history[i].mean, i < times.count ? times[i] : times.last ?? 0)
        }
        var chromosome = ga.state.best.chromosome, fitness = ga.state.best.fitness
        var evaluations = ga.state.evaluations + assignEvaluations
        if strategy == .hybrid && polishBudget > 0 {
            // Not checkpointed: it is deterministic, so a resumed run redoes it to the same end.
            let known = Dictionary(ga.state.evaluated.map { ($0.chromosome, $0.fitness) }, uniquingKeysWith: { a, _ in a })
            let climb = try SwapLocalSearch.climb(from: chromosome, fitness: fitness, budget: polishBudget, known: known,
                                                  evaluate: search.fitnessFunction)
            for step in climb.improvements {
                convergence.append((evaluations + step.evaluations, step.fitness, step.fitness,
                                    before + Date().timeIntervalSince(start)))
            }
            (chromosome, fitness) = (climb.chromosome, climb.fitness)
            evaluations += climb.evaluations
            let seconds = before + Date().timeIntervalSince(start)
            convergence.append((evaluations, fitness, fitness, seconds))
            onProgress(ga.state.generation, configuration.generations, fitness, evaluations, seconds)
        }
        return Result(chromosome: chromosome, fitness: fitness, evaluations: evaluations,
                      seconds: before + Date().timeIntervalSince(start), convergence: convergence,
                      generations: ga.state.generation)
    }

    /// The convergence log as CSV.
    public static func convergenceCSV(_ result: Result, strategy: Strategy) -> String {
        var s = "strategy,generation,evaluations,best_fitness,mean_fitness,seconds\n"
        for (i, p) in result.convergence.enumerated() {
            s += "\(strategy.rawValue),\(strategy == .assign ? 0 : i),\(p.evaluations),\(p.best),\(p.mean),\(String(format: "%.3f", p.seconds))\n"
        }
        return s
    }
}
