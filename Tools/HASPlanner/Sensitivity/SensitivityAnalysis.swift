import Foundation
import HASRuntime

/// Per-layer fault sensitivity (paper §5.1, Figs. 4–6): for every layer (or
/// group of layers faulty together) × error kind × FR_max × synthetic device
/// × fault trial, the accuracy on a fixed image set, and the degradation
/// against the clean accuracy.
///
/// Each layer group gets one `FaultyEvaluator` (the clean prefix is cached once
/// and shared by every device); devices are the paper's synthetic ones.
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

        public var layerName: String { layers.joined(separator: "+") }
        public var meanAccuracy: Double { FaultyEvaluation.mean(accuracies) }
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
        public var meanAccuracy: Double { FaultyEvaluation.mean(accuracies) }
        public var standardDeviation: Double { FaultyEvaluation.standardDeviation(accuracies) }
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

    /// Runs every cell.
    /// - Parameters:
    ///   - images: preprocessed inputs [N, C, H, W]; `labels` their classes.
    ///   - progress: called after each cell with (cells done, the cell).
    public func run(images: Tensor, labels: [Int], threads: Int = Parallelism.threads,
                    progress: ((Int, Cell) -> Void)? = nil) throws -> [Cell] {
        let c = configuration
        var cells: [Cell] = []
        for group in c.layerGroups {
            // The evaluator's own profile only fixes nothing but a placeholder; each cell passes its device.
            let placeholder = try FaultProfile.synthetic(kind: .flip1, frMax: 0, seed: 0, blocks: c.blocks, threads: c.threads)
            let evaluator = try FaultyEvaluator(network: network, images: images, labels: labels, profile: placeholder,
                                                faultyLayers: group, threads: threads)
            let clean = evaluator.cleanAccuracy
            for kind in c.kinds {
                for frMax in c.frMax[kind] ?? [] {
                    for deviceSeed in c.deviceSeeds {
                        let profile = try FaultProfile.synthetic(kind: kind, frMax: frMax, seed: deviceSeed,
                                                                 blocks: c.blocks, threads: c.threads)
                        let result = evaluator.evaluate(seed: c.faultSeed, trials: c.trials, profile: profile)
                        let cell = Cell(layers: group, kind: kind, frMax: frMax, deviceSeed: deviceSeed,
                                        fingerprint: profile.fingerprint, accuracies: result.accuracies, cleanAccuracy: clean)
                        cells.append(cell)
                        progress?(cells.count, cell)
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
