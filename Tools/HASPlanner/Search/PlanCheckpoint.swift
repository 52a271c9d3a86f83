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
    /// Independent GA runs when more than one (nil: one).
    public var runs: Int?
    /// Posterior devices planned for (`--robust K`) and their seed; nil: the profile alone.
    public var robust: Int?
    public var robustSeed: UInt64?

    public init(model: String, weightsDigest: String, fingerprint: String, layers: [String], strategy: Strategy,
                fitnessImages: String, faultSeeds: [UInt64], configuration: GAConfiguration, climbBudget: Int? = nil,
                runs: Int = 1, robust: Int = 0, robustSeed: UInt64 = 1) {
        self.model = model; self.weightsDigest = weightsDigest; self.fingerprint = fingerprint; self.layers = layers
        self.strategy = strategy; self.fitnessImages = fitnessImages; self.faultSeeds = faultSeeds
        self.configuration = configuration
        self.climbBudget = climbBudget
        precondition(runs >= 1, "runs must be at least 1")
        self.runs = runs == 1 ? nil : runs
        self.robust = robust > 0 ? robust : nil
        self.robustSeed = robust > 0 ? robustSeed : nil
    }
}

extension PlanRunKey {
    /// SHA-256 of the key: names a run's checkpoint, so that runs of other settings never share one.
    public var digest: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return sha256Hex((try? encoder.encode(self)) ?? Data())
    }
}

/// The checkpoint file: the GA state plus what the run spent before it.
public struct PlanCheckpoint: Codable, Equatable, Sendable {
    public var key: PlanRunKey
    /// The GA run in progress.
    public var state: GAState
    /// GA runs already finished (with several runs), in order.
    public var finishedRuns: [FinishedRun]?
    /// The hybrid's starting plan (after the assignment and the guided climb), which seeds every run.
    public var start: Chromosome?
    /// Evaluation equivalents spent before the GA (hybrid: the assignment and the guided climb).
    public var assignEvaluations: Int
    /// The hybrid's progress before the GA (assignment, then each accepted swap), for the convergence log.
    public var prelude: [PreludePoint]?
    public var elapsedSeconds: Double
    /// Wall time at the end of each generation (parallel to `state.history`).
    public var generationSeconds: [Double]

    public static func load(from path: String) throws -> PlanCheckpoint {
        try CheckpointFile.read(PlanCheckpoint.self, from: path, kind: "has-plan")
    }

    public func write(to path: String) throws {
        try CheckpointFile.write(self, to: path)
    }
}

/// A finished GA run and the wall time at the end of each of its generations.
public struct FinishedRun: Codable, Equatable, Sendable {
    public var state: GAState
    public var generationSeconds: [Double]
}

/// One point of progress before the GA starts.
public struct PreludePoint: Codable, Equatable, Sendable {
    public var evaluations: Int
    public var best: Double
    public var seconds: Double
}

extension PlanCheckpoint {
    /// Refuses a checkpoint that decodes but could not have been written by
    /// this run (edited by hand, or for other layer sizes), with one line
    /// naming the file, before any of it is trusted.
    /// Largest evaluation count a checkpoint may hold (far beyond any run; sums of such cannot overflow).
    static let maxCount = 1 << 40

    public func validate(layerSizes: [Int], runs: Int, file: String) throws {
        func fail(_ problem: String) -> InputError { InputError(file: file, "not a usable has-plan checkpoint: \(problem)") }
        let done = finishedRuns ?? []
        guard done.count < runs else { throw fail("it holds \(done.count) finished runs of \(runs)") }
        // Counters and times are summed later: out of range, they would overflow or mislead.
        guard (0...Self.maxCount).contains(assignEvaluations) else {
            throw fail("assignEvaluations is \(assignEvaluations), outside 0…\(Self.maxCount)")
        }
        guard elapsedSeconds.isFinite, elapsedSeconds >= 0, generationSeconds.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw fail("its times are negative or not numbers")
        }
        if key.strategy == .hybrid && runs > 1 && start == nil { throw fail("the hybrid's starting plan is missing") }
        if let start, !Permutations.isChromosome(start, layerSizes: layerSizes) { throw fail("the starting plan is not a permutation of each layer's rows") }
        for (i, run) in (done.map(\.state) + [state]).enumerated() {
            let name = "GA run \(i + 1)"
            let c = run.configuration, k = key.configuration
            guard c.population == k.population, c.generations == k.generations, c.crossoverRate == k.crossoverRate,
                  c.mutationRate == k.mutationRate, c.seed == k.seed &+ UInt64(i) else {
                throw fail("\(name) has other GA settings than the run's key")
            }
            guard run.layerSizes == layerSizes else { throw fail("\(name) is for layers of \(run.layerSizes) rows, not \(layerSizes)") }
            guard (0...c.generations).contains(run.generation), i == done.count || run.isFinished else {
                throw fail("\(name) is at generation \(run.generation) of \(c.generations)")
            }
            guard run.population.count == c.population, !run.evaluated.isEmpty else { throw fail("\(name) has a population of \(run.population.count)") }
            guard run.history.count == run.generation + 1,
                  zip(run.history, run.history.dropFirst()).allSatisfy({ $0.evaluations <= $1.evaluations }),
                  (run.history.last?.evaluations ?? 0) <= run.evaluated.count else {
                throw fail("\(name)'s history does not match its generations")
            }
            for scored in run.population + run.evaluated {
                guard Permutations.isChromosome(scored.chromosome, layerSizes: layerSizes) else { throw fail("\(name) holds a chromosome that is not a permutation of each layer's rows") }
                guard scored.fitness.isFinite else { throw fail("\(name) holds a fitness that is not a number") }
            }
        }
    }
}
