import ArgumentParser
import Foundation
import HASCommandLine
import HASRuntime

/// `has-run`: classify images with a model bundle on the (simulated) device.
@main
struct HASRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "has-run",
        abstract: "Classify images with a HAS model bundle.",
        discussion: """
            Images come from an IDX file (MNIST format, gzip or raw), a .npy array of \
            8-bit or float pixels [N, H, W], or PNG files given as arguments. With \
            --labels, reports accuracy. Preprocessing (scaling, resizing) follows the \
            bundle's manifest. With --device, the model runs on a simulated faulty \
            accelerator described by a fault profile (has-diagnose synth), once per \
            trial, and the accuracy is reported as mean ± std next to the clean one.
            """
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: ImageDataOptions

    @OptionGroup var limit: ImageLimitOptions

    @Option(help: "Images per forward pass.")
    var batch: Int = 256

    @OptionGroup var threads: ThreadOptions

    @Option(help: "Write one prediction per image to this file: .csv or .jsonl.")
    var output: String?

    @Option(help: "How many predictions to print (ignored with --json).")
    var show: Int = 5

    @Option(help: "Fault profile (JSON) of the device to simulate; default: a fault-free device.")
    var device: String?

    @Option(name: .customLong("faulty-layers"), help: "Comma-separated weighted layers that run on the faulty device (default: all).")
    var faultyLayers: String?

    @Option(help: "Fault draws to average over with --device (trial i uses seed S + i).")
    var trials: Int = 1

    @OptionGroup var faultSeed: FaultSeedOptions

    @Option(help: "With --device: simulate this profile's faults instead (e.g. the true device behind a diagnosed --device profile); --device still chooses the plan.")
    var simulate: String?

    @Option(help: "Schedule plan to apply with --device (default: <plans>/<model>/<fingerprint>.json if present).")
    var plan: String?

    @Option(help: "Directory of schedule plans searched with --device.")
    var plans: String = "Plans"

    @Flag(help: "With --device, also run without the plan and report both accuracies.")
    var compare = false

    @Flag(help: "Print one JSON object with the results on stdout instead of text.")
    var json = false

    @Argument(help: "PNG images to classify (8-bit gray or RGB, converted to gray).")
    var pngs: [String] = []

    func validate() throws {
        let images = data.images
        if images == nil && pngs.isEmpty { throw ValidationError("give --images FILE or one or more PNG files") }
        if images != nil && !pngs.isEmpty { throw ValidationError("give either --images or PNG files, not both") }
        if data.labels != nil && images == nil { throw ValidationError("--labels goes with --images") }
        if !(1...65_536).contains(batch) { throw ValidationError("--batch must be between 1 and 65536") }
        if show < 0 { throw ValidationError("--show must not be negative") }
        if device == nil && (faultyLayers != nil || trials != 1) {
            throw ValidationError("--faulty-layers and --trials go with --device")
        }
        if device == nil && (plan != nil || compare || simulate != nil) {
            throw ValidationError("--plan, --compare and --simulate go with --device")
        }
        if !(1...10_000).contains(trials) { throw ValidationError("--trials must be between 1 and 10000") }
        if let faultyLayers, faultyLayers.split(separator: ",").isEmpty {
            throw ValidationError("--faulty-layers needs at least one layer name")
        }
        if let output, !(output.hasSuffix(".csv") || output.hasSuffix(".jsonl")) {
            throw ValidationError("--output must end in .csv or .jsonl")
        }
    }

    func run() throws {
        // Before any work: an output that cannot be written fails now, not after the run.
        if let output { try checkWritable(output) }
        let loaded = try model.load()
        let (bundle, network) = (loaded.bundle, loaded.network)
        let set: ImageSet
        if let images = data.images {
            set = try ImageDataOptions.open(images: images, labels: data.labels, limit: limit.limit, for: loaded)
        } else {
            set = try ImageSet.open(pngs: pngs, input: bundle.manifest.input, model: network.name)
        }
        // Check the device and the layer names before any classification.
        let profile = try device.map { try FaultProfile.load(path: $0) }
        // The device as simulated: --device itself unless --simulate names the device it describes.
        let simulated = try simulate.map { try FaultProfile.load(path: $0) } ?? profile
        if let simulate, let profile, let simulated, simulated.geometry != profile.geometry || simulated.tiling != profile.tiling {
            throw InputError(file: simulate, "geometry or tiling differs from --device \(device!)'s: not the same device")
        }
        let layers = faultyLayers.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let deviceLayers = try network.deviceLayers(named: layers)
        let selection = try profile.flatMap {
            try PlanSelection.resolve(explicit: plan, plansDirectory: plans, network: network,
                                      weightsDigest: bundle.weightsDigest, profile: $0)
        }
        let threadCount = threads.count
        let classifier = Classifier(network: network, batchSize: batch)
        func classify(_ label: String, _ options: ForwardOptions) throws -> Classification {
            let progress = ProgressBar(total: set.source.count, label: label)
            defer { progress.finish() }
            return try classifier.classify(set.source, options: options) { progress.update($0) }
        }
        let clean = try classify("classifying", ForwardOptions(threads: threadCount))
        var result = clean
        var faulty: RunReport.Device?
        var unplannedAccuracy: Double?
        if let device, let profile, let simulated {
            if selection == nil { PlanSelection.note("no plan for \(network.name) on device \(profile.fingerprint.prefix(12))… in \(plans)/; running unshuffled") }
            func faultyRuns(_ permutations: [String: [Int32]], _ label: String) throws -> [Classification] {
                try (0..<trials).map { trial in
                    let injector = try FaultInjector(network: network, profile: simulated, faultyLayers: layers,
                                                     seed: FaultKeys.trialSeed(faultSeed.seed, trial: trial), threads: threadCount)
                    return try classify("\(label)trial \(trial + 1)/\(trials)",
                                        injector.options(ForwardOptions(permutations: permutations, threads: threadCount)))
                }
            }
            let runs = try faultyRuns(selection?.plan.permutations ?? [:], selection == nil ? "" : "planned ")
            if let labels = set.labels, compare || selection == nil {
                let unplanned = selection == nil ? runs : try faultyRuns([:], "unplanned ")
                unplannedAccuracy = Statistics.mean(unplanned.map { $0.accuracy(labels: labels) })
            }
            result = runs[0]
            faulty = RunReport.Device(path: simulate ?? device, profile: simulated,
                                      layers: deviceLayers.map(\.name), seed: faultSeed.seed,
                                      runs: runs, clean: clean, labels: set.labels)
        }

        var report = RunReport(model: network.name, modelFile: loaded.path, weightsDigest: bundle.weightsDigest,
                               source: set.origin, classification: result, labels: set.labels,
                               batchSize: batch, threads: threadCount)
        if let faulty {
            report.attach(faulty)
            report.plan = selection?.path
            report.plannedLayers = selection?.plan.layers.map(\.name)
            report.unplannedAccuracy = unplannedAccuracy
        }
        if let output { try PredictionWriter.write(result, classes: network.classes, labels: set.labels,
                                                  names: set.names, to: output) }
        if json {
            print(try report.json())
        } else {
            print(report.text(classes: network.classes, names: set.names, show: show))
            if device != nil {
                print("plan: \(selection.map { "\($0.path) (layers \($0.plan.layers.map(\.name).joined(separator: ", ")))" } ?? "none (unshuffled)")")
                if let unplannedAccuracy, let faulty, let labels = set.labels, selection != nil {
                    print(Self.comparison(clean: clean.accuracy(labels: labels), unplanned: unplannedAccuracy,
                                          planned: Statistics.mean(faulty.runs.map { $0.accuracy(labels: labels) })))
                }
            }
        }
    }

    /// Clean vs faulty vs planned on one screen (--compare with a plan).
    static func comparison(clean: Double, unplanned: Double, planned: Double) -> String {
        let lost = (clean - unplanned) * 100, won = (planned - unplanned) * 100
        var text = String(format: "  clean                %6.2f%%\n", clean * 100)
        text += String(format: "  faulty, no plan      %6.2f%%  (%.2f points lost)\n", unplanned * 100, lost)
        text += String(format: "  faulty, with plan    %6.2f%%  (%+.2f points", planned * 100, won)
        text += lost >= 0.5 ? String(format: ", %.0f%% of the loss won back)", won / lost * 100) : ")"
        return text
    }
}
