import HASRuntime

/// Hill climbing over swaps ranked by a cost matrix: the hybrid's first step
/// after the assignment. At the assignment every swap of two positions is
/// predicted (by the additive model Σ_r cost[π[r]][r]) to hurt or be neutral;
/// the model is only approximate, so the swaps it predicts to hurt least are
/// the likeliest to help in truth. They are tried in that order, one at a
/// time, each applied to the current best plan and kept if the fitness rises.
/// Deterministic, like the fitness.
public enum GuidedSwapSearch {
    /// - Parameters:
    ///   - matrices: per layer, `cost[row][position]` (nil: the layer is not searched).
    ///   - budget: new evaluations at most.
    public static func climb(from start: Chromosome, fitness startFitness: Double, matrices: [[[Double]]?], budget: Int,
                             evaluate: ([Chromosome]) throws -> [Double]) rethrows -> SwapLocalSearch.Result {
        precondition(matrices.count == start.count)
        var moves: [(change: Double, layer: Int, a: Int, b: Int)] = []
        for (layer, matrix) in matrices.enumerated() {
            guard let c = matrix else { continue }
            let p = start[layer].map(Int.init)
            for a in p.indices {
                for b in (a + 1)..<p.count {
                    let change = c[p[a]][a] + c[p[b]][b] - c[p[a]][b] - c[p[b]][a]
                    moves.append((change, layer, a, b))
                }
            }
        }
        // Least harmful first; ties in a fixed order.
        moves.sort { $0.change != $1.change ? $0.change > $1.change : ($0.layer, $0.a, $0.b) < ($1.layer, $1.a, $1.b) }
        var best = start, bestFitness = startFitness, spent = 0
        var seen: Set<Chromosome> = [start]
        var improvements: [(evaluations: Int, fitness: Double)] = []
        for move in moves where spent < budget {
            var candidate = best
            candidate[move.layer].swapAt(move.a, move.b)
            guard seen.insert(candidate).inserted else { continue }
            let value = try evaluate([candidate])[0]
            spent += 1
            if value > bestFitness {
                (best, bestFitness) = (candidate, value)
                improvements.append((spent, value))
            }
        }
        return SwapLocalSearch.Result(chromosome: best, fitness: bestFitness, evaluations: spent, improvements: improvements)
    }
}
