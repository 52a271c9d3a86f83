import HASRuntime

/// How much accuracy each row of a layer costs when its partial products fail
/// at a given rate: the rate model of the assignment, for layers with more
/// rows than a block has threads (where `PositionCostMatrix` does not apply).
public enum RowSensitivity {
    /// `result[level][row]`: accuracy lost (clean − faulty, mean over `seeds`)
    /// when the PEs of one thread at a time (all blocks) fail with probability
    /// `levels[level]`, with the profile's kind and exponent bits. Exact per
    /// row when the layer has at most T rows; with more rows, the rows sharing
    /// a thread share its measured cost.
    public static func measure(network: Network, profile: FaultProfile, layer: DeviceLayer, images: Tensor,
                               labels: [Int], imageIndices: [Int], seeds: [UInt64], levels: [Double],
                               threads: Int = Parallelism.threads,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> [[Double]] {
        let m = layer.shape.m, T = profile.geometry.threads, B = profile.geometry.blocks
        func uniform(_ q: Double, onThread thread: Int) throws -> FaultProfile {
            let rates = (0..<B).map { _ in (0..<T).map { t in thread == t ? q : 0 } }
            return try FaultProfile(geometry: profile.geometry, tiling: profile.tiling, kind: profile.kind,
                                    exponentBits: profile.exponentBits, rates: rates, origin: .synthetic(frMax: q, seed: 0))
        }
        let evaluator = try FaultyEvaluator(network: network, images: images, labels: labels,
                                            imageIndices: imageIndices, profile: profile,
                                            faultyLayers: [layer.name], threads: threads)
        let used = min(m, T)
        var result: [[Double]] = []
        for (li, q) in levels.enumerated() {
            var costs = [Double](repeating: 0, count: m)
            for t in 0..<used {
                let device = try uniform(q, onThread: t)
                let lost = seeds.map { evaluator.cleanAccuracy - evaluator.evaluate(seed: $0, profile: device).mean }
                let share = lost.reduce(0, +) / Double(seeds.count)
                let group = stride(from: t, to: m, by: T).map { $0 }
                for row in group { costs[row] = share / Double(group.count) }
                progress(li * used + t + 1, levels.count * used)
            }
            result.append(costs)
        }
        return result
    }
}

/// The sensitivity-guided strategy: rows to positions by minimum expected cost.
public enum AssignmentStrategy {
    /// π with π[position] = row minimising Σ_r f_π[r](exposure[r]), where f_i
    /// interpolates row i's measured cost linearly between (0, 0) and the
    /// `levels` (and extrapolates the last segment). Linear assignment (Hungarian).
    public static func permutation(costs: [[Double]], levels: [Double], exposure: [Double]) -> [Int32] {
        permutation(matrix: matrix(costs: costs, levels: levels, exposure: exposure))
    }

    /// `cost[row][position]` = f_row(exposure[position]) (see `permutation(costs:levels:exposure:)`).
    public static func matrix(costs: [[Double]], levels: [Double], exposure: [Double]) -> [[Double]] {
        let m = exposure.count
        precondition(costs.count == levels.count && costs.allSatisfy { $0.count == m })
        let xs = [0.0] + levels
        func f(_ row: Int, _ e: Double) -> Double {
            let ys = [0.0] + costs.map { $0[row] }
            var seg = 0
            while seg + 2 < xs.count && e > xs[seg + 1] { seg += 1 }
            let x0 = xs[seg], x1 = xs[seg + 1]
            let slope = x1 > x0 ? (ys[seg + 1] - ys[seg]) / (x1 - x0) : 0
            return ys[seg] + slope * (e - x0)
        }
        return (0..<m).map { row in (0..<m).map { r in f(row, exposure[r]) } }
    }

    /// π with π[position] = row minimising Σ_r cost[π[r]][r] (Hungarian).
    public static func permutation(matrix: [[Double]]) -> [Int32] {
        let column = LinearAssignment.solve(matrix)
        var perm = [Int32](repeating: 0, count: matrix.count)
        for (row, r) in column.enumerated() { perm[r] = Int32(row) }
        return perm
    }
}
