import ArgumentParser
import Dispatch
import Foundation
import HASCommandLine
import HASPlanner
import HASRuntime

/// `has-plan sensitivity`: how much accuracy each layer loses when it alone
/// (or a group of layers) runs on a faulty device (paper §5.1, Figs. 4–6).
struct SensitivityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensitivity",
        abstract: "Per-layer fault sensitivity: degradation vs FR_max for every layer and error kind.",
        discussion: """
            For every layer group × kind × FR_max × synthetic device (p ~ Uniform(0, FR_max) \
            per PE, 20×32 PEs) × fault trial, measures top-1 accuracy on the images with only \
            that group faulty. Writes sensitivity.csv (per trial), summary.csv (per layer, kind \
            and FR_max), sensitivity.json and sensitivity.svg into --out.

            Progress is saved after every (layer group, FR_max, device) in \
            sensitivity.checkpoint.json in --out; after an interruption (Ctrl-C) \
            --resume continues from it and ends with the same files.
            """
    )

    @OptionGroup var model: ModelOptions
    // Both required here.
    @OptionGroup var data: ImageDataOptions

    @OptionGroup var limit: ImageLimitOptions

    @Option(help: "Layers made faulty, comma-separated; join with + to make a group faulty together (c0,c1,c0+c1). Default: each weighted layer.")
    var layers: String?

    @Option(help: "Error kinds, comma-separated.")
    var kinds: String = ErrorKind.allCases.map(\.rawValue).joined(separator: ",")

    @Option(name: .customLong("fr-max"),
            help: "FR_max values: 'KIND=a,b,c' for one kind (repeatable) or 'a,b,c' for all kinds. Default: the paper's per kind.")
    var frMax: [String] = []

    @Option(name: .customLong("device-seeds"), help: "Synthetic devices per kind and FR_max.")
    var deviceSeeds: Int = 2

    @Option(name: .customLong("first-device-seed"), help: "Seed of the first device; the others follow.")
    var firstDeviceSeed: UInt64 = 1

    @Option(help: "Fault trials per device (seeds --seed, --seed + 1, …).")
    var trials: Int = 3

    @OptionGroup var faultSeed: FaultSeedOptions

    @Option(help: "Blocks of the simulated device.")
    var blocks: Int = FaultProfile.Geometry.paper.blocks

    @Option(name: .customLong("block-threads"), help: "Threads (PEs) per block of the simulated device.")
    var blockThreads: Int = FaultProfile.Geometry.paper.threads

    @OptionGroup var threads: ThreadOptions

    @Option(help: "Output directory.")
    var out: String

    @Flag(help: "Continue an interrupted run from the checkpoint in --out.")
    var resume = false

    @Flag(help: .hidden)
    var reference = false

    func validate() throws {
        if !(1...1000).contains(deviceSeeds) { throw ValidationError("--device-seeds must be between 1 and 1000") }
        if !(1...1000).contains(trials) { throw ValidationError("--trials must be between 1 and 1000") }
        if !(1...FaultProfile.maxBlocks).contains(blocks) || !(1...FaultProfile.maxThreads).contains(blockThreads) {
            throw ValidationError("--blocks and --block-threads must be positive")
        }
        if data.images == nil || data.labels == nil { throw ValidationError("give --images and --labels") }
        _ = try parsedKinds()
        _ = try parsedFRMax()
    }

    func parsedKinds() throws -> [ErrorKind] {
        let list = kinds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !list.isEmpty else { throw ValidationError("--kinds needs at least one kind") }
        return try list.map { name in
            guard let kind = ErrorKind(rawValue: name) else {
                throw ValidationError("unknown kind '\(name)' in --kinds (expected \(ErrorKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        }
    }

    func parsedFRMax() throws -> [ErrorKind: [Double]] {
        var result = Dictionary(uniqueKeysWithValues: ErrorKind.allCases.map { ($0, $0.paperFRMax) })
        for item in frMax {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            let values = try (parts.last ?? "").split(separator: ",").map { text -> Double in
                guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v >= 0, v <= 1 else {
                    throw ValidationError("--fr-max '\(item)': '\(text)' is not a rate in [0, 1]")
                }
                return v
            }
            guard !values.isEmpty else { throw ValidationError("--fr-max '\(item)' has no values") }
            if parts.count == 2 {
                guard let kind = ErrorKind(rawValue: parts[0]) else { throw ValidationError("--fr-max '\(item)': unknown kind '\(parts[0])'") }
                result[kind] = values
            } else {
                for kind in ErrorKind.allCases { result[kind] = values }
            }
        }
        return result
    }

    func run() throws {
        CheckpointHold.prepare()
        let loaded = try model.load()
        let (bundle, network) = (loaded.bundle, loaded.network)
        let images = data.images!
        let set = try ImageDataOptions.open(images: images, labels: data.labels, limit: limit.limit, for: loaded)
        let groups = layers.map { $0.split(separator: ",").map { $0.split(separator: "+").map(String.init) } }
            ?? network.deviceLayers.map { [$0.name] }
        let configuration = SensitivityAnalysis.Configuration(
            layerGroups: groups, kinds: try parsedKinds(), frMax: try parsedFRMax(),
            deviceSeeds: (0..<UInt64(deviceSeeds)).map { firstDeviceSeed &+ $0 }, trials: trials, faultSeed: faultSeed.seed,
            blocks: blocks, threads: blockThreads)
        let analysis = try SensitivityAnalysis(network: network, configuration: configuration)
        let x = try set.source.batch(0..<set.source.count)
        let key = SensitivityCheckpoint.Key(model: network.name, weightsDigest: bundle.weightsDigest, images: images,
                                            imageCount: set.source.count, configuration: configuration)
        let checkpointPath = SensitivityCheckpoint.path(in: out)
        var completed: [SensitivityAnalysis.Cell] = []
        var before = 0.0
        if resume {
            let checkpoint = try SensitivityCheckpoint.load(from: checkpointPath)
            guard checkpoint.key == key else {
                throw InputError(file: checkpointPath, "the checkpoint is for another model, image set or settings; run without --resume to start over")
            }
            if let problem = checkpoint.problem() { throw InputError(file: checkpointPath, problem) }
            completed = checkpoint.cells.map(\.cell)
            before = checkpoint.elapsedSeconds
        }
        try makeDirectory(out)
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { before + Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        let progress = ProgressBar(total: configuration.evaluations, label: "sensitivity")
        let cells = try analysis.run(images: x, labels: set.labels!, threads: threads.count, fast: !reference,
                                     completed: completed, afterUnit: { done in
            try SensitivityCheckpoint(key: key, cells: done, elapsedSeconds: elapsed()).write(to: checkpointPath)
            CheckpointHold.checkpointWritten()
        }, note: { StandardError.write("has-plan: " + $0) }) { done, cell in
            progress.update(done, status: "\(cell.layerName) \(cell.kind.rawValue) \(cell.frMax)")
        }
        progress.finish()
        let seconds = elapsed()
        let report = SensitivityReport(model: network.name, weightsDigest: bundle.weightsDigest, images: images,
                                       imageCount: set.source.count, configuration: configuration, cells: cells, seconds: seconds)
        try report.write(to: out)
        try? FileManager.default.removeItem(atPath: checkpointPath)
        print("\(network.name) on \(set.source.count) images: degradation in accuracy points (mean ± std over "
              + "\(deviceSeeds) devices × \(trials) trials)")
        let summaries = report.summaries
        for kind in configuration.kinds {
            let rates = configuration.frMax[kind] ?? []
            print("  \(kind.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))"
                  + rates.map { pad(String(format: "FR_max %g", $0), 16) }.joined())
            for group in groups.map({ $0.joined(separator: "+") }) {
                let row = rates.map { rate -> String in
                    guard let s = summaries.first(where: { $0.layers == group && $0.kind == kind && $0.frMax == rate }) else { return "" }
                    return pad(String(format: "%.2f ± %.2f", s.degradation, s.degradationStd), 16)
                }
                print("    \(group.padding(toLength: 6, withPad: " ", startingAt: 0))" + row.joined())
            }
        }
        print("\(configuration.evaluations) evaluations × \(trials) trials in " + String(format: "%.1f s", seconds)
              + "; wrote sensitivity.csv, summary.csv, sensitivity.json, sensitivity.svg in \(out)")
    }
}

/// `s` right-aligned in `width` columns.
private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? " " + s : String(repeating: " ", count: width - s.count) + s
}
