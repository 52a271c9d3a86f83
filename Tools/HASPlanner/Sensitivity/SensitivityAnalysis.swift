import Foundation
import HASDiagnosis
import HASRuntime

/// Per-layer fault sensitivity (paper §5.1, Figs. 4–6): for every layer (or
/// group of layers faulty together) × error kind × FR_max × synthetic device
/// × fault trial, the accuracy on a fixed image set, and the degradation
/// against the clean accuracy.
///
/// Each layer group gets one `SweepEvaluator` (clean activations cached once
/// and shared by every device; kinds with the same FR_max evaluated together);
/// devices are the paper's synthetic ones.
public struct SensitivityAnalysis {
    public struct Configuration: Sendable {
        /// Groups of layers made faulty together, e.g. [["c0"], ["h0"], ["c0", "c1"]].
        public var layerGroups: [[String]]
        public var kinds: [ErrorKind]
        /// FR_max values per kind.
        public var frMax: [ErrorKind: [Double]]
        /// Seeds of the synthetic devices (one profile per seed, per kind and FR_max).
        public var deviceSeeds: [UInt64]
        public var trials: Int
        /// Seed of the fault draws (trial i uses seed + i).
        public var faultSeed: UInt64
        public var blocks: Int
        public var threads: Int

        public init(layerGroups: [[String]], kinds: [ErrorKind] = ErrorKind.allCases, frMax: [ErrorKind: [Double]]? = nil,
                    deviceSeeds: [UInt64] = [1, 2], trials: Int = 3, faultSeed: UInt64 = 0,
                    blocks: Int = FaultProfile.Geometry.paper.blocks, threads: Int = FaultProfile.Geometry.paper.threads) {
            self.layerGroups = layerGroups
            self.kinds = kinds
            self.frMax = frMax ?? Dictionary(uniqueKeysWithValues: ErrorKind.allCases.map { ($0, $0.paperFRMax) })
            self.deviceSeeds = deviceSeeds
            self.trials = trials
            self.faultSeed = faultSeed
            self.blocks = blocks
            self.threads = threads
        }

        /// Evaluations (each of `trials` trials) the analysis runs.
        public var evaluations: Int {
            layerGroups.count * kinds.reduce(0) { $0 + (frMax[$1]?.count ?? 0) } * deviceSeeds.count
        }
    }

    /// One (layer group, kind, FR_max, device) cell.
    public struct Cell: Codable, Sendable {
        public var layers: [String]
        public var kind: ErrorKind
        public var frMax: Double
        public var deviceSeed: UInt64
        public var fingerprint: String
        /// Accuracy per trial (fraction).
        public var accuracies: [Double]
        public var cleanAccuracy: Double

        public init(layers: [String], kind: ErrorKind, frMax: Double, deviceSeed: UInt64, fingerprint: String,
                    accuracies: [Double], cleanAccuracy: Double) {
            self.layers = layers
            self.kind = kind
            self.frMax = frMax
            self.deviceSeed = deviceSeed
            self.fingerprint = fingerprint
            self.accuracies = accuracies
            self.cleanAccuracy = cleanAccuracy
        }

        public var layerName: String { layers.joined(separator: "+") }
        public var meanAccuracy: Double { Statistics.mean(accuracies) }
        /// Clean minus faulty accuracy, in percentage points.
        public var degradation: Double { (cleanAccuracy - meanAccuracy) * 100 }

        enum CodingKeys: String, CodingKey {
            case layers, kind, frMax = "fr_max", deviceSeed = "device_seed", fingerprint, accuracies,
                 cleanAccuracy = "clean_accuracy"
        }
    }

    /// Mean over devices and trials of one (layer group, kind, FR_max).
    public struct Summary: Sendable {
        public var layers: String
        public var kind: ErrorKind
        public var frMax: Double
        public var cleanAccuracy: Double
        /// Every trial of every device.
        public var accuracies: [Double]
        public var meanAccuracy: Double { Statistics.mean(accuracies) }
        public var standardDeviation: Double { Statistics.standardDeviation(accuracies) }
        /// Mean degradation in points, and its spread over devices × trials.
        public var degradation: Double { (cleanAccuracy - meanAccuracy) * 100 }
        public var degradationStd: Double { standardDeviation * 100 }
    }

    public let network: Network
    public let configuration: Configuration

    public init(network: Network, configuration: Configuration) throws {
        for group in configuration.layerGroups { _ = try network.deviceLayers(named: group, option: "--layers") }
        guard configuration.trials > 0, !configuration.deviceSeeds.isEmpty else {
            throw InputError(file: "--trials", "need at least one trial and one device seed")
        }
        self.network = network
        self.configuration = configuration
    }

    /// Runs every cell not in `completed`; returns all cells in report order
    /// (layer group, kind, FR_max, device), whatever order they ran in.
    ///
    /// Work goes in units of (layer group, FR_max, device): the kinds that
    /// share that FR_max share one fault enumeration (`SweepEvaluator`).
    /// - Parameters:
    ///   - images: preprocessed inputs [N, C, H, W]; `labels` their classes.
    ///   - fast: false evaluates with `FaultyEvaluator`, kind by kind (for checking; same results).
    ///   - completed: cells of an earlier, interrupted run (from its checkpoint).
    ///   - afterUnit: called with every cell finished so far after each unit (write the checkpoint there).
    ///   - progress: called after each unit with (cells done, a cell of the unit).
    ///   - note: called once per group the fast paths do not take, with the reason.
    public func run(images: Tensor, labels: [Int], threads: Int = Parallelism.threads, fast: Bool = true,
                    completed: [Cell] = [], afterUnit: (([Cell]) throws -> Void)? = nil,
                    note: ((String) -> Void)? = nil, progress: ((Int, Cell) -> Void)? = nil) throws -> [Cell] {
        let c = configuration
        func key(_ layers: [String], _ kind: ErrorKind, _ frMax: Double, _ seed: UInt64) -> String {
            "\(layers.joined(separator: "+"))|\(kind.rawValue)|\(frMax.bitPattern)|\(seed)"
        }
        var done: [String: Cell] = [:]
        var finished: [Cell] = []
        for cell in completed where c.layerGroups.contains(cell.layers) {
            let k = key(cell.layers, cell.kind, cell.frMax, cell.deviceSeed)
            if done[k] == nil { done[k] = cell; finished.append(cell) }
        }
        // FR_max values in the order the kinds list them.
        var rates: [Double] = []
        for kind in c.kinds { for r in c.frMax[kind] ?? [] where !rates.contains(r) { rates.append(r) } }
        for group in c.layerGroups {
            var evaluator: SweepEvaluator?
            for frMax in rates {
                for deviceSeed in c.deviceSeeds {
                    let kinds = c.kinds.filter { (c.frMax[$0] ?? []).contains(frMax) && done[key(group, $0, frMax, deviceSeed)] == nil }
                    if kinds.isEmpty { continue }
                    if evaluator == nil {
                        evaluator = try SweepEvaluator(network: network, images: images, labels: labels, faultyLayers: group,
                                                       threads: threads, fast: fast)
                        if let reason = evaluator!.fallbackReason {
                            note?("\(group.joined(separator: "+")): \(reason); measured with full forward passes (same results, slower)")
                        }
                    }
                    let e = evaluator!
                    let device = try FaultProfile.synthetic(kind: kinds[0], frMax: frMax, seed: deviceSeed,
                                                            blocks: c.blocks, threads: c.threads)
                    let accuracies = e.accuracies(device: device, kinds: kinds, seed: c.faultSeed, trials: c.trials)
                    for (kind, trials) in zip(kinds, accuracies) {
                        let profile = SweepEvaluator.profile(device, kind: kind)
                        let cell = Cell(layers: group, kind: kind, frMax: frMax, deviceSeed: deviceSeed,
                                        fingerprint: profile.fingerprint, accuracies: trials, cleanAccuracy: e.cleanAccuracy)
                        done[key(group, kind, frMax, deviceSeed)] = cell
                        finished.append(cell)
                    }
                    try afterUnit?(finished)
                    progress?(finished.count, finished.last!)
                }
            }
        }
        var cells: [Cell] = []
        for group in c.layerGroups {
            for kind in c.kinds {
                for frMax in c.frMax[kind] ?? [] {
                    for deviceSeed in c.deviceSeeds {
                        if let cell = done[key(group, kind, frMax, deviceSeed)] { cells.append(cell) }
                    }
                }
            }
        }
        return cells
    }

    /// Cells grouped per (layer group, kind, FR_max), in the order they were run.
    public static func summarise(_ cells: [Cell]) -> [Summary] {
        var order: [String] = []
        var groups: [String: Summary] = [:]
        for cell in cells {
            let key = "\(cell.layerName)|\(cell.kind.rawValue)|\(cell.frMax)"
            if groups[key] == nil {
                order.append(key)
                groups[key] = Summary(layers: cell.layerName, kind: cell.kind, frMax: cell.frMax,
                                      cleanAccuracy: cell.cleanAccuracy, accuracies: [])
            }
            groups[key]!.accuracies += cell.accuracies
        }
        return order.map { groups[$0]! }
    }
}
