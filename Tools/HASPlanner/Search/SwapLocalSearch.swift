import HASRuntime

/// Pairwise-swap hill climbing, the hybrid's last step: the GA's best plan is
/// usually one or two swaps away from a better one that its random mutations
/// have not hit. Scans the swaps of two positions within a layer in a fixed
/// order, takes the first that raises the fitness, continues with the next
/// pair, and stops after a full scan without improvement or when the budget
/// of new evaluations is spent. Deterministic, like the fitness (common
/// random numbers), so an interrupted run that redoes it ends the same way.
public enum SwapLocalSearch {
    public struct Result {
        public var chromosome: Chromosome
        public var fitness: Double
        /// New (not cached) evaluations spent.
        public var evaluations: Int
        /// (new evaluations so far, best fitness) after each accepted swap.
        public var improvements: [(evaluations: Int, fitness: Double)]
    }

    /// - Parameters:
    ///   - known: fitness of chromosomes already evaluated (e.g. the GA's cache); not re-evaluated or counted.
    ///   - batch: swaps evaluated together (the fitness function may spread them over cores). The first
    ///     improving one in scan order is taken, so the accepted swaps do not depend on the batch size
    ///     (the evaluations spent, and so where a budget cuts the climb, do).
    public static func climb(from start: Chromosome, fitness startFitness: Double, budget: Int,
                             known: [Chromosome: Double] = [:], batch: Int = 8,
                             evaluate: ([Chromosome]) throws -> [Double]) rethrows -> Result {
        var best = start, bestFitness = startFitness
        var cache = known
        var spent = 0
        var improvements: [(evaluations: Int, fitness: Double)] = []
        // Every (layer, i, j) with i < j, in a fixed order.
        let moves = start.indices.flatMap { layer in
            (0..<start[layer].count).flatMap { i in ((i + 1)..<start[layer].count).map { j in (layer, i, j) } }
        }
        guard !moves.isEmpty else { return Result(chromosome: start, fitness: startFitness, evaluations: 0, improvements: []) }
        var next = 0, sinceImprovement = 0
        while sinceImprovement < moves.count && spent < budget {
            // The next few swaps of the current best, in scan order.
            var candidates: [(move: Int, chromosome: Chromosome)] = []
            var fresh: [Chromosome] = []
            var scanned = 0
            while candidates.count < batch && scanned + sinceImprovement < moves.count {
                let (layer, i, j) = moves[(next + scanned) % moves.count]
                var c = best
                c[layer].swapAt(i, j)
                candidates.append(((next + scanned) % moves.count, c))
                if cache[c] == nil && !fresh.contains(c) && spent + fresh.count < budget { fresh.append(c) }
                scanned += 1
            }
            if !fresh.isEmpty {
                for (c, v) in zip(fresh, try evaluate(fresh)) { cache[c] = v }
                spent += fresh.count
            }
            // The first improving swap in scan order wins; the scan resumes after it.
            if let hit = candidates.first(where: { (cache[$0.chromosome] ?? -.infinity) > bestFitness }) {
                best = hit.chromosome
                bestFitness = cache[hit.chromosome]!
                improvements.append((spent, bestFitness))
                next = (hit.move + 1) % moves.count
                sinceImprovement = 0
            } else {
                next = (next + scanned) % moves.count
                sinceImprovement += scanned
            }
        }
        return Result(chromosome: best, fitness: bestFitness, evaluations: spent, improvements: improvements)
    }
}
