import Foundation
import HASRuntime

/// The progress of a sensitivity analysis: the cells finished so far, written
/// atomically after every unit of work, so that an interrupted run (Ctrl-C,
/// a crash, a reboot) continues with `--resume` and ends with exactly the
/// files an uninterrupted run writes. Accuracies are kept as IEEE bit patterns.
public struct SensitivityCheckpoint: Codable, Equatable, Sendable {
    /// What identifies the analysis: a checkpoint of another one is refused.
    public struct Key: Codable, Equatable, Sendable {
        public var model: String
        public var weightsDigest: String
        public var images: String
        public var imageCount: Int
        public var layerGroups: [[String]]
        public var kinds: [ErrorKind]
        /// FR_max values per kind, in `kinds` order.
        public var frMax: [[Double]]
        public var deviceSeeds: [UInt64]
        public var trials: Int
        public var faultSeed: UInt64
        public var blocks: Int
        public var threads: Int

        public init(model: String, weightsDigest: String, images: String, imageCount: Int,
                    configuration c: SensitivityAnalysis.Configuration) {
            self.model = model
            self.weightsDigest = weightsDigest
            self.images = images
            self.imageCount = imageCount
            layerGroups = c.layerGroups
            kinds = c.kinds
            frMax = c.kinds.map { c.frMax[$0] ?? [] }
            deviceSeeds = c.deviceSeeds
            trials = c.trials
            faultSeed = c.faultSeed
            blocks = c.blocks
            threads = c.threads
        }
    }

    /// One finished cell.
    public struct Entry: Codable, Equatable, Sendable {
        public var layers: [String]
        public var kind: ErrorKind
        public var frMax: Double
        public var deviceSeed: UInt64
        public var fingerprint: String
        public var accuracyBits: [UInt64]
        public var cleanAccuracyBits: UInt64

        public init(_ cell: SensitivityAnalysis.Cell) {
            layers = cell.layers
            kind = cell.kind
            frMax = cell.frMax
            deviceSeed = cell.deviceSeed
            fingerprint = cell.fingerprint
            accuracyBits = cell.accuracies.map(\.bitPattern)
            cleanAccuracyBits = cell.cleanAccuracy.bitPattern
        }

        public var cell: SensitivityAnalysis.Cell {
            SensitivityAnalysis.Cell(layers: layers, kind: kind, frMax: frMax, deviceSeed: deviceSeed, fingerprint: fingerprint,
                                     accuracies: accuracyBits.map(Double.init(bitPattern:)),
                                     cleanAccuracy: Double(bitPattern: cleanAccuracyBits))
        }
    }

    public var key: Key
    public var cells: [Entry]
    /// Wall time spent by the runs so far.
    public var elapsedSeconds: Double

    public init(key: Key, cells: [SensitivityAnalysis.Cell], elapsedSeconds: Double) {
        self.key = key
        self.cells = cells.map(Entry.init)
        self.elapsedSeconds = elapsedSeconds
    }

    /// The checkpoint's path for an output directory.
    public static func path(in directory: String) -> String {
        (directory as NSString).appendingPathComponent("sensitivity.checkpoint.json")
    }

    public static func load(from path: String) throws -> SensitivityCheckpoint {
        try CheckpointFile.read(SensitivityCheckpoint.self, from: path, kind: "sensitivity")
    }

    /// The first cell that this analysis (`key`) could not have written, or nil:
    /// a group, kind, FR_max or device seed it does not have, a cell twice, a
    /// trial count other than `key.trials`, an accuracy that is not k / images
    /// for 0 ≤ k ≤ images, or a negative or non-finite elapsed time.
    public func problem() -> String? {
        guard elapsedSeconds.isFinite, elapsedSeconds >= 0 else { return "elapsed time \(elapsedSeconds) is not a duration" }
        guard key.trials >= 1, key.imageCount >= 1 else { return "\(key.trials) trials on \(key.imageCount) images" }
        func isFraction(_ a: Double) -> Bool {
            guard a.isFinite, a >= 0, a <= 1 else { return false }
            let k = (a * Double(key.imageCount)).rounded()
            return k / Double(key.imageCount) == a
        }
        var seen = Set<String>()
        for (i, c) in cells.enumerated() {
            let cell = c.cell
            let name = "cell \(i) (\(cell.layerName), \(c.kind.rawValue), \(c.frMax), device \(c.deviceSeed))"
            guard key.layerGroups.contains(c.layers), let k = key.kinds.firstIndex(of: c.kind),
                  key.frMax[k].contains(c.frMax), key.deviceSeeds.contains(c.deviceSeed) else {
                return "\(name) is not part of this analysis"
            }
            guard seen.insert("\(cell.layerName) \(c.kind.rawValue) \(c.frMax.bitPattern) \(c.deviceSeed)").inserted else {
                return "\(name) appears twice"
            }
            guard cell.accuracies.count == key.trials else { return "\(name) has \(cell.accuracies.count) trials, not \(key.trials)" }
            guard cell.accuracies.allSatisfy(isFraction), isFraction(cell.cleanAccuracy) else {
                return "\(name) has an accuracy that is not a share of \(key.imageCount) images"
            }
        }
        return nil
    }

    /// Written to a temporary file and renamed over `path`: never half-written.
    public func write(to path: String) throws {
        try CheckpointFile.write(self, to: path)
    }
}
