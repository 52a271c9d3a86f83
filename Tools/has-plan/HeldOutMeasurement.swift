import HASPlanner
import HASRuntime

/// Accuracies on the held-out images under their own fault seeds (--fault-seed + 1000 …), never
/// the search's: the numbers a plan is judged by, shared by `plan` (into the plan file) and
/// `compare` (one row per strategy).
struct HeldOutMeasurement {
    let evaluator: FaultyEvaluator
    let range: String
    let seed: UInt64
    let trials: Int

    init?(problem: ProblemOptions, loaded: ProblemOptions.Loaded, layers: [String]) throws {
        guard let held = loaded.heldOut else { return nil }
        evaluator = try FaultyEvaluator(network: loaded.network, images: held.images, labels: held.labels,
                                        imageIndices: held.indices, profile: loaded.profile, faultyLayers: layers,
                                        threads: problem.threads.count)
        range = held.range
        seed = problem.heldOutSeeds[0]
        trials = problem.heldOutTrials
    }

    /// Accuracy per trial with these permutations ([:] = unshuffled).
    func measure(_ permutations: [String: [Int32]]) -> SchedulePlan.Measurement {
        .init(trials: evaluator.evaluate(permutations: permutations, seed: seed, trials: trials).accuracies)
    }

    func accuracy(planned permutations: [String: [Int32]]) -> SchedulePlan.ImageSetAccuracy {
        .init(images: range, clean: evaluator.cleanAccuracy, faulty: measure([:]), planned: measure(permutations))
    }
}
