import Foundation
import HASRuntime

/// The files of a sensitivity analysis: `sensitivity.csv` (one row per trial),
/// `summary.csv` (one row per layer × kind × FR_max), `sensitivity.json`
/// (configuration, provenance, every cell) and `sensitivity.svg` (the plot).
public struct SensitivityReport {
    public var model: String
    public var weightsDigest: String
    public var images: String
    public var imageCount: Int
    public var configuration: SensitivityAnalysis.Configuration
    public var cells: [SensitivityAnalysis.Cell]
    public var seconds: Double

    public init(model: String, weightsDigest: String, images: String, imageCount: Int,
                configuration: SensitivityAnalysis.Configuration, cells: [SensitivityAnalysis.Cell], seconds: Double) {
        self.model = model
        self.weightsDigest = weightsDigest
        self.images = images
        self.imageCount = imageCount
        self.configuration = configuration
        self.cells = cells
        self.seconds = seconds
    }

    public var summaries: [SensitivityAnalysis.Summary] { SensitivityAnalysis.summarise(cells) }

    /// Writes the four files into `directory` (created if needed), each atomically.
    public func write(to directory: String) throws {
        try makeDirectory(directory)
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        try writeFileAtomically(detailCSV, to: path("sensitivity.csv"))
        try writeFileAtomically(summaryCSV, to: path("summary.csv"))
        try writeFileAtomically(try json(), to: path("sensitivity.json"))
        try writeFileAtomically(SensitivityPlot(model: model, summaries: summaries, kinds: configuration.kinds).svg(),
                                to: path("sensitivity.svg"))
    }

    static func number(_ x: Double) -> String { String(format: "%.6g", x) }

    public var detailCSV: String {
        var lines = ["layers,kind,fr_max,device_seed,fingerprint,trial,accuracy,clean_accuracy,degradation_points"]
        for cell in cells {
            for (trial, accuracy) in cell.accuracies.enumerated() {
                lines.append(CSV.row([cell.layerName, cell.kind.rawValue, Self.number(cell.frMax), String(cell.deviceSeed),
                                      cell.fingerprint, String(trial), String(format: "%.6f", accuracy),
                                      String(format: "%.6f", cell.cleanAccuracy),
                                      String(format: "%.4f", (cell.cleanAccuracy - accuracy) * 100)]))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var summaryCSV: String {
        var lines = ["layers,kind,fr_max,runs,clean_accuracy,mean_accuracy,accuracy_std,degradation_points,degradation_std_points"]
        for s in summaries {
            lines.append(CSV.row([s.layers, s.kind.rawValue, Self.number(s.frMax), String(s.accuracies.count),
                                  String(format: "%.6f", s.cleanAccuracy), String(format: "%.6f", s.meanAccuracy),
                                  String(format: "%.6f", s.standardDeviation), String(format: "%.4f", s.degradation),
                                  String(format: "%.4f", s.degradationStd)]))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() throws -> String {
        struct Summary: Encodable {
            var layers: String, kind: String, frMax: Double, runs: Int
            var cleanAccuracy: Double, meanAccuracy: Double, accuracyStd: Double, degradationPoints: Double, degradationStdPoints: Double
            enum CodingKeys: String, CodingKey {
                case layers, kind, frMax = "fr_max", runs, cleanAccuracy = "clean_accuracy", meanAccuracy = "mean_accuracy",
                     accuracyStd = "accuracy_std", degradationPoints = "degradation_points",
                     degradationStdPoints = "degradation_std_points"
            }
        }
        struct Document: Encodable {
            var model: String, weightsDigest: String, images: String, imageCount: Int
            var layerGroups: [String], kinds: [String], frMax: [String: [Double]], deviceSeeds: [UInt64]
            var trials: Int, faultSeed: UInt64, blocks: Int, threads: Int, seconds: Double
            var summary: [Summary]
            var cells: [SensitivityAnalysis.Cell]
            enum CodingKeys: String, CodingKey {
                case model, weightsDigest = "weights_digest", images, imageCount = "image_count", layerGroups = "layer_groups",
                     kinds, frMax = "fr_max", deviceSeeds = "device_seeds", trials, faultSeed = "fault_seed", blocks, threads,
                     seconds, summary, cells
            }
        }
        let c = configuration
        let document = Document(
            model: model, weightsDigest: weightsDigest, images: images, imageCount: imageCount,
            layerGroups: c.layerGroups.map { $0.joined(separator: "+") }, kinds: c.kinds.map(\.rawValue),
            frMax: Dictionary(uniqueKeysWithValues: c.kinds.map { ($0.rawValue, c.frMax[$0] ?? []) }),
            deviceSeeds: c.deviceSeeds, trials: c.trials, faultSeed: c.faultSeed, blocks: c.blocks, threads: c.threads,
            seconds: seconds,
            summary: summaries.map { Summary(layers: $0.layers, kind: $0.kind.rawValue, frMax: $0.frMax, runs: $0.accuracies.count,
                                             cleanAccuracy: $0.cleanAccuracy, meanAccuracy: $0.meanAccuracy,
                                             accuracyStd: $0.standardDeviation, degradationPoints: $0.degradation,
                                             degradationStdPoints: $0.degradationStd) },
            cells: cells)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }
}
