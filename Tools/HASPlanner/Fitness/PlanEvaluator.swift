import HASRuntime

/// Accuracy of a network on a faulty device for candidate plans: what every
/// search strategy optimises. Implementations are deterministic functions of
/// (permutations, seed) — common random numbers — and spread work over cores.
public protocol PlanEvaluator: AnyObject {
    /// The layers being planned; also the only faulty layers.
    var plannedLayers: [DeviceLayer] { get }
    var imageCount: Int { get }
    var cleanAccuracy: Double { get }
    /// Top-1 accuracy for each fault seed.
    func accuracies(permutations: [String: [Int32]], seeds: [UInt64]) -> [Double]
    /// Drops what was cached for earlier candidates (a new search run starts),
    /// so that memory does not grow with the runs; changes no result.
    func forgetCandidates()
}

extension PlanEvaluator {
    public func forgetCandidates() {}

    /// Mean accuracy over `seeds` of a chromosome (layers in `plannedLayers` order).
    public func fitness(_ chromosome: Chromosome, seeds: [UInt64]) -> Double {
        Statistics.mean(accuracies(permutations: permutations(chromosome), seeds: seeds))
    }

    public func permutations(_ chromosome: Chromosome) -> [String: [Int32]] {
        Dictionary(uniqueKeysWithValues: zip(plannedLayers.map(\.name), chromosome))
    }

    public var identity: Chromosome { plannedLayers.map { Permutations.identity($0.shape.m) } }
}

/// The general evaluator: the simulator's `FaultyEvaluator` (clean prefix
/// cached, everything from the first faulty layer recomputed per image).
public final class FullPlanEvaluator: PlanEvaluator {
    public let evaluator: FaultyEvaluator
    public init(_ evaluator: FaultyEvaluator) { self.evaluator = evaluator }
    public var plannedLayers: [DeviceLayer] { evaluator.faultyLayers }
    public var imageCount: Int { evaluator.imageCount }
    public var cleanAccuracy: Double { evaluator.cleanAccuracy }
    public func accuracies(permutations: [String: [Int32]], seeds: [UInt64]) -> [Double] {
        seeds.map { evaluator.evaluate(permutations: permutations, seed: $0, trials: 1).mean }
    }
}
