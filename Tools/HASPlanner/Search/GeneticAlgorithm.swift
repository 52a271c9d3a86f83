import HASRuntime

/// The paper's GA settings (spec §7); every field can be overridden.
public struct GAConfiguration: Codable, Equatable, Sendable {
    public var population: Int
    public var generations: Int
    /// Probability that a pair of parents is recombined by order crossover.
    public var crossoverRate: Double
    /// Probability that a child gets a swap mutation (one swap in each layer).
    public var mutationRate: Double
    /// Seeds the GA's own choices (initial population, pairing, cut points, swaps).
    public var seed: UInt64

    public init(population: Int = 20, generations: Int = 100, crossoverRate: Double = 0.6,
                mutationRate: Double = 0.2, seed: UInt64 = 1) {
        self.population = population
        self.generations = generations
        self.crossoverRate = crossoverRate
        self.mutationRate = mutationRate
        self.seed = seed
    }
}

/// One line of the convergence log.
public struct GenerationRecord: Codable, Equatable, Sendable {
    /// 0 = the initial population.
    public var generation: Int
    /// Distinct chromosomes evaluated so far (cache hits are free).
    public var evaluations: Int
    public var best: Double
    public var mean: Double
}

/// Everything the GA needs to continue: written as the checkpoint after each
/// generation. Fitness values are kept as IEEE bit patterns so that a resumed
/// run continues from exactly the same numbers.
public struct GAState: Codable, Equatable, Sendable {
    public struct Scored: Codable, Equatable, Sendable {
        public var chromosome: Chromosome
        public var fitnessBits: UInt64
        public var fitness: Double { Double(bitPattern: fitnessBits) }
    }

    public var configuration: GAConfiguration
    public var layerSizes: [Int]
    /// Completed generations; 0 once the initial population is evaluated.
    public var generation: Int
    /// The current population, best first.
    public var population: [Scored]
    public var rngState: UInt64
    /// Every chromosome evaluated so far, in evaluation order (the fitness cache).
    public var evaluated: [Scored]
    public var history: [GenerationRecord]

    public var best: Scored { population[0] }
    public var evaluations: Int { evaluated.count }
    public var isFinished: Bool { generation >= configuration.generations }
}

/// A steady (μ+λ) genetic algorithm over multi-layer permutation chromosomes,
/// as in the paper: order crossover, swap mutation, truncation selection of
/// the best `population` among parents and offspring.
///
/// Generic over the fitness function (higher is better), which receives a
/// batch of distinct, not yet evaluated chromosomes so it can spread them
/// over cores. Fitness must be a deterministic function of the chromosome
/// (common random numbers make it so); each chromosome is evaluated once.
/// Deterministic under the seed; `GAState` round-trips exactly, so a run
/// resumed from any checkpoint ends where the uninterrupted run does.
public final class GeneticAlgorithm {
    public typealias Fitness = ([Chromosome]) throws -> [Double]

    public private(set) var state: GAState
    private let fitness: Fitness
    private var cache: [Chromosome: UInt64]

    /// Starts a run: the population is `seeds` (truncated to the population
    /// size) completed with random permutations, then evaluated.
    public init(configuration: GAConfiguration, layerSizes: [Int], seeds: [Chromosome] = [],
                fitness: @escaping Fitness) throws {
        precondition(configuration.population >= 2, "population must be at least 2")
        precondition(seeds.allSatisfy { Permutations.isChromosome($0, layerSizes: layerSizes) }, "seed chromosome is not a permutation")
        var rng = SplitMix64(seed: SplitMix64.mix(configuration.seed ^ 0x4741_5F70_6C61_6E21))
        var initial = Array(seeds.prefix(configuration.population))
        while initial.count < configuration.population {
            initial.append(layerSizes.map { Permutations.random($0, using: &rng) })
        }
        self.fitness = fitness
        self.cache = [:]
        self.state = GAState(configuration: configuration, layerSizes: layerSizes, generation: 0, population: [],
                             rngState: rng.state, evaluated: [], history: [])
        let scores = try score(initial)
        state.population = GeneticAlgorithm.select(initial, scores, count: configuration.population)
        record()
    }

    /// Continues from a checkpoint.
    public init(resuming state: GAState, fitness: @escaping Fitness) {
        self.state = state
        self.fitness = fitness
        self.cache = Dictionary(state.evaluated.map { ($0.chromosome, $0.fitnessBits) }, uniquingKeysWith: { a, _ in a })
    }

    /// Runs the remaining generations, calling `afterGeneration` after each
    /// (the place to write a checkpoint or stop by throwing).
    public func run(afterGeneration: (GAState) throws -> Void = { _ in }) throws {
        while !state.isFinished {
            try step()
            try afterGeneration(state)
        }
    }

    /// One generation: pair the parents at random, recombine and mutate, keep the best.
    public func step() throws {
        let config = state.configuration
        var rng = SplitMix64(seed: state.rngState)
        let parents = state.population.map(\.chromosome)
        var order = Array(0..<parents.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        var offspring: [Chromosome] = []
        var pair = 0
        while offspring.count < config.population {
            let p1 = parents[order[pair % order.count]], p2 = parents[order[(pair + 1) % order.count]]
            pair += 2
            var c1 = p1, c2 = p2
            if rng.unit() < config.crossoverRate {
                for layer in 0..<p1.count {
                    (c1[layer], c2[layer]) = GeneticOperators.orderCrossover(p1[layer], p2[layer], using: &rng)
                }
            }
            for child in [c1, c2] where offspring.count < config.population {
                var c = child
                if rng.unit() < config.mutationRate {
                    for layer in 0..<c.count { GeneticOperators.swapMutation(&c[layer], using: &rng) }
                }
                offspring.append(c)
            }
        }
        state.rngState = rng.state
        let scores = try score(offspring)
        let all = parents + offspring
        let allScores = state.population.map(\.fitness) + scores
        state.population = GeneticAlgorithm.select(all, allScores, count: config.population)
        state.generation += 1
        record()
    }

    /// Fitness of each chromosome, evaluating only those not seen before.
    private func score(_ chromosomes: [Chromosome]) throws -> [Double] {
        var fresh: [Chromosome] = []
        var pending = Set<Chromosome>()
        for c in chromosomes where cache[c] == nil && pending.insert(c).inserted { fresh.append(c) }
        if !fresh.isEmpty {
            let values = try fitness(fresh)
            precondition(values.count == fresh.count, "fitness returned \(values.count) values for \(fresh.count)")
            for (c, v) in zip(fresh, values) {
                cache[c] = v.bitPattern
                state.evaluated.append(GAState.Scored(chromosome: c, fitnessBits: v.bitPattern))
            }
        }
        return chromosomes.map { Double(bitPattern: cache[$0]!) }
    }

    /// Truncation selection: the `count` best distinct chromosomes (ties keep
    /// the earlier one, so parents win ties), topped up with duplicates only
    /// if there are not enough distinct ones.
    static func select(_ chromosomes: [Chromosome], _ scores: [Double], count: Int) -> [GAState.Scored] {
        var seen = Set<Chromosome>()
        var distinct: [Int] = [], repeated: [Int] = []
        for i in chromosomes.indices {
            if seen.insert(chromosomes[i]).inserted { distinct.append(i) } else { repeated.append(i) }
        }
        let byFitness: (Int, Int) -> Bool = { a, b in scores[a] != scores[b] ? scores[a] > scores[b] : a < b }
        let chosen = (distinct.sorted(by: byFitness) + repeated.sorted(by: byFitness)).prefix(count)
        return chosen.map { GAState.Scored(chromosome: chromosomes[$0], fitnessBits: scores[$0].bitPattern) }
    }

    private func record() {
        let values = state.population.map(\.fitness)
        state.history.append(GenerationRecord(generation: state.generation, evaluations: state.evaluations,
                                              best: values[0], mean: values.reduce(0, +) / Double(values.count)))
    }
}
