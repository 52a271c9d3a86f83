import Foundation
import HASRuntime

/// Search strategies (spec §7 and beyond).
public enum Strategy: String, CaseIterable, Codable, Sendable {
    /// The paper's GA from a random population (plus the identity schedule).
    case ga
    /// Sensitivity-guided: measure each row's cost of errors, match rows to positions by exposure.
    case assign
    /// The GA seeded with the assignment and perturbations of it.
    case hybrid
}

/// One planning problem: a model, a device, the layers to plan (which are also
/// the faulty layers), the fitness images and the fault seeds (common random
/// numbers: every candidate meets the same device behaviour).
public final class PlanSearch {
    public let network: Network
    public let profile: FaultProfile
    public let layers: [DeviceLayer]
    public let images: Tensor
    public let labels: [Int]
    public let imageIndices: [Int]
    public let faultSeeds: [UInt64]
    public let threads: Int
    /// Images (a prefix of the fitness images) on which `PositionCostMatrix` is measured; nil = all.
    public var matrixImages: Int?
    public let evaluator: PlanEvaluator
    /// Whether the fast incremental evaluator applies (one conv before pool and dense).
    public let incremental: Bool
    /// The devices fitness is averaged over (`profile` alone unless others were given), each with its evaluator.
    public let devices: [(profile: FaultProfile, evaluator: PlanEvaluator)]

    /// - Parameter devices: devices to plan for together (e.g. drawn from a diagnosis'
    ///   posterior): fitness is their mean accuracy and the assignment's cost matrices
    ///   their mean; `profile` still keys the plan. Empty: `profile` alone.
    public init(network: Network, profile: FaultProfile, layers: [String], images: Tensor, labels: [Int],
                imageIndices: [Int], faultSeeds: [UInt64], threads: Int = Parallelism.threads,
                devices: [FaultProfile] = []) throws {
        self.network = network
        self.profile = profile
        self.layers = try network.deviceLayers(named: layers, option: "--layers")
        self.images = images
        self.labels = labels
        self.imageIndices = imageIndices
        self.faultSeeds = faultSeeds
        self.threads = threads
        let layerNames = self.layers.map(\.name), single = self.layers.count == 1 ? self.layers[0] : nil
        func makeEvaluator(for device: FaultProfile) throws -> (PlanEvaluator, Bool) {
            if let single, device.expectedFaultsPerImage(single.map(on: device)) <= PlanSearch.incrementalFaultLimit,
               let fast = try IncrementalConvEvaluator(network: network, profile: device, layer: single.name,
                                                       images: images, labels: labels, imageIndices: imageIndices,
                                                       seeds: faultSeeds, threads: threads) {
                return (fast, true)
            }
            return (FullPlanEvaluator(try FaultyEvaluator(network: network, images: images, labels: labels,
                                                          imageIndices: imageIndices, profile: device,
                                                          faultyLayers: layerNames, threads: threads)), false)
        }
        let made = try (devices.isEmpty ? [profile] : devices).map { ($0, try makeEvaluator(for: $0)) }
        self.devices = made.map { ($0.0, $0.1.0) }
        evaluator = made.count == 1 ? made[0].1.0 : DeviceAverageEvaluator(made.map(\.1.0))
        incremental = made.allSatisfy(\.1.1)
        if let single, single.isConvolution, !incremental,
           case .failure(let mismatch) = ConvSuffix.incremental(network, convIndex: single.index) {
            fallbackReason = "\(mismatch.reason): the incremental evaluator needs conv → ReLU → non-overlapping max pool → "
                + "flatten → dense; planning with full forward passes (same results, slower)"
        } else {
            fallbackReason = nil
        }
    }

    /// Why a single conv layer is planned with full forward passes instead of
    /// the incremental evaluator (the network's shape after it), or nil.
    public let fallbackReason: String?

    /// Above this many expected faults per image, the incremental evaluator's
    /// precomputation (every row at every faulty position) costs more than it
    /// saves: fashion c1 at bitflip 0.5 has ~50,000 (mnist32 c0 at 5e-3: ~70).
    public static let incrementalFaultLimit = 5_000.0

    public var layerSizes: [Int] { layers.map(\.shape.m) }
    public var identity: Chromosome { evaluator.identity }

    /// Mean accuracy over the fault seeds.
    public func fitness(_ chromosome: Chromosome) -> Double { evaluator.fitness(chromosome, seeds: faultSeeds) }

    /// The GA's fitness function.
    public var fitnessFunction: GeneticAlgorithm.Fitness { { [self] batch in batch.map { fitness($0) } } }

    // MARK: Assignment

    public struct Assignment {
        public var chromosome: Chromosome
        /// Per layer: the rate levels and each row's measured cost at each level
        /// (empty for layers matched by a `PositionCostMatrix`).
        public var levels: [[Double]]
        public var costs: [[[Double]]]
        public var exposure: [[Double]]
        /// Per layer: the cost[row][position] matrix that was matched (nil: unshuffled, no faults).
        public var matrices: [[[Double]]?]
        /// Its fitness.
        public var fitness: Double
        /// Full-evaluation equivalents spent measuring, plus the one that gave `fitness`
        /// (for fair comparisons with the GA).
        public var evaluationEquivalents: Int
    }

    /// Mean fault rate seen by each position of `layer` (over its K tiles).
    public func exposure(_ layer: DeviceLayer) -> [Double] {
        let map = layer.map(on: profile)
        return PositionExposure.meanRates(rates: Array(profile.rates.joined()), blocks: profile.geometry.blocks,
                                          threads: profile.geometry.threads, rows: layer.shape.m, k: layer.shape.k,
                                          tileK: map.tileK)
    }

    /// The sensitivity-guided plan, layer by layer in network order, each
    /// matched by a cost[row][position] matrix and the Hungarian algorithm.
    /// A `PositionCostMatrix` is measured with the layers already matched
    /// faulty under their assignment (in the same draws) and the later ones
    /// clean: with several faulty layers at high rates (fashion c0+c1,
    /// bitflip 0.5) what a row's errors cost depends on the errors upstream.
    ///
    /// The matrix is per draw where possible: read off the incremental
    /// evaluator's precomputed effects (one conv before pool and dense), or
    /// measured by `PositionCostMatrix` (layers with at most T rows). Larger
    /// layers with the general evaluator fall back to the rate model
    /// (`RowSensitivity` at two rates, matched against the positions' mean
    /// rates). What the measuring costs is counted in fitness evaluations by
    /// wall time: its seconds over those of the plan's own (timed, counted)
    /// fitness evaluation.
    public func assign(progress: (String, Int, Int) -> Void = { _, _, _ in }) throws -> Assignment {
        var result = Assignment(chromosome: [], levels: [], costs: [], exposure: [], matrices: [], fitness: 0,
                                evaluationEquivalents: 0)
        let start = Date()
        var upstreamPlan: [String: [Int32]] = [:]
        for layer in layers {
            let e = exposure(layer)
            let top = e.max() ?? 0
            var levels: [Double] = [], costs: [[Double]] = []
            let matrix: [[Double]]?
            if top <= 0 {
                matrix = nil
            } else {
                // Per device, then averaged (one device unless planning for several).
                var sum: [[Double]]? = nil
                for device in devices {
                    let m = try costMatrix(layer, device: device, exposure: e, upstream: upstreamPlan, progress: progress)
                    levels = m.levels
                    costs = m.costs
                    sum = sum.map { zip($0, m.matrix).map { zip($0, $1).map(+) } } ?? m.matrix
                }
                let scale = 1 / Double(devices.count)
                matrix = sum.map { $0.map { $0.map { $0 * scale } } }
            }
            result.chromosome.append(matrix.map { AssignmentStrategy.permutation(matrix: $0) } ?? Permutations.identity(layer.shape.m))
            // Later layers' matrices are measured with this one faulty under its assignment.
            upstreamPlan[layer.name] = result.chromosome.last!
            result.levels.append(levels); result.costs.append(costs); result.exposure.append(e); result.matrices.append(matrix)
        }
        let measuring = Date().timeIntervalSince(start)
        let timed = Date()
        result.fitness = fitness(result.chromosome)
        let one = max(1e-6, Date().timeIntervalSince(timed))
        result.evaluationEquivalents = 1 + Int((measuring / one).rounded(.up))
        return result
    }

    /// One device's cost[row][position] matrix for `layer` (see `assign`), with the
    /// rate levels and per-row costs when the rate model was used.
    func costMatrix(_ layer: DeviceLayer, device: (profile: FaultProfile, evaluator: PlanEvaluator), exposure e: [Double],
                    upstream upstreamPlan: [String: [Int32]], progress: (String, Int, Int) -> Void) throws
        -> (matrix: [[Double]], levels: [Double], costs: [[Double]]) {
        let profile = device.profile, top = e.max() ?? 0
        var levels: [Double] = [], costs: [[Double]] = []
        let matrix: [[Double]]
        if let fast = device.evaluator as? IncrementalConvEvaluator {
            matrix = fast.pairCosts(seeds: faultSeeds)
        } else if PositionCostMatrix.applies(to: layer, on: profile) {
            let count = min(labels.count, matrixImages ?? labels.count)
            let per = images.count / max(1, labels.count)
            let subset = count == labels.count ? images
                : Tensor(shape: [count] + images.shape.dropFirst(), data: Array(images.data[0..<(count * per)]))
            matrix = try PositionCostMatrix.measure(network: network, profile: profile, layer: layer, images: subset,
                                                    labels: Array(labels.prefix(count)),
                                                    imageIndices: Array(imageIndices.prefix(count)), seeds: faultSeeds,
                                                    threads: threads, upstream: upstreamPlan) { progress(layer.name, $0, $1) }
        } else {
            levels = [top / 2, top]
            costs = try RowSensitivity.measure(network: network, profile: profile, layer: layer, images: images,
                                               labels: labels, imageIndices: imageIndices, seeds: faultSeeds,
                                               levels: levels, threads: threads) { progress(layer.name, $0, $1) }
            matrix = AssignmentStrategy.matrix(costs: costs, levels: levels, exposure: e)
        }
        return (matrix, levels, costs)
    }

    /// The hybrid's initial population: the assignment, then copies of it with
    /// 1, 2, 3, … random swaps per layer (cycling up to `maxSwaps`).
    public static func perturbations(of chromosome: Chromosome, count: Int, seed: UInt64, maxSwaps: Int = 4) -> [Chromosome] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x4859_4252_4944))
        var result = [chromosome]
        var i = 0
        while result.count < count {
            var c = chromosome
            for _ in 0...(i % maxSwaps) {
                for layer in c.indices { GeneticOperators.swapMutation(&c[layer], using: &rng) }
            }
            result.append(c)
            i += 1
        }
        return result
    }
}
