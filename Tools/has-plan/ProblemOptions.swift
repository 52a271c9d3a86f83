import ArgumentParser
import Foundation
import HASCommandLine
import HASDiagnosis
import HASPlanner
import HASRuntime

/// Options that define a planning problem (shared by `plan` and `compare`).
struct ProblemOptions: ParsableArguments {
    @OptionGroup var model: ModelOptions

    @Option(help: "Fault profile of the device (JSON, from has-diagnose).")
    var profile: String

    @Option(help: "Comma-separated weighted layers to plan; they are also the faulty layers (e.g. c0 or c0,c1).")
    var layers: String

    // Default: the model's standard test set (DefaultTestSet).
    @OptionGroup var data: ImageDataOptions

    @Option(help: "Half-open range of image indices the search optimises on.")
    var fitnessRange: String = "5120:10000"

    @Option(help: "Half-open range of image indices for held-out accuracy (empty to skip).")
    var heldOutRange: String = "0:5120"

    @Option(help: "Fault draws (seeds) per fitness evaluation: fitness is the mean accuracy over them.")
    var evals: Int = 3

    @Option(help: "First fault seed of the fitness evaluations (the next --evals - 1 follow).")
    var faultSeed: UInt64 = 1

    @Option(help: "Fault draws for the held-out accuracies (seeds start at --fault-seed + 1000).")
    var heldOutTrials: Int = 3

    @Option(help: "assign/hybrid: measure the per-draw cost matrix of multi-layer plans on the first N fitness images (default: all).")
    var matrixImages: Int?

    @OptionGroup var threads: ThreadOptions

    @Option(help: "Plan for K devices drawn from a diagnosed profile's posterior (each PE's rate given its counts) instead of its point estimate alone (0: off).")
    var robust: Int = 0

    @Option(name: .customLong("robust-seed"), help: "Seed of the --robust draws.")
    var robustSeed: UInt64 = 1

    func validate() throws {
        if evals < 1 { throw ValidationError("--evals must be at least 1") }
        if let matrixImages, matrixImages < 1 { throw ValidationError("--matrix-images must be at least 1") }
        if heldOutTrials < 1 { throw ValidationError("--held-out-trials must be at least 1") }
        if !(0...64).contains(robust) { throw ValidationError("--robust must be between 0 and 64") }
        if (data.images == nil) != (data.labels == nil) { throw ValidationError("give --images and --labels together") }
        _ = try ProblemOptions.range(fitnessRange, option: "--fitness-range")
        if !heldOutRange.isEmpty { _ = try ProblemOptions.range(heldOutRange, option: "--held-out-range") }
    }

    static func range(_ text: String, option: String) throws -> Range<Int> {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let lo = Int(parts[0]), let hi = Int(parts[1]), lo >= 0, hi > lo else {
            throw ValidationError("\(option) must be START:END with 0 <= START < END, got '\(text)'")
        }
        return lo..<hi
    }

    var layerNames: [String] { layers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    var fitnessSeeds: [UInt64] { (0..<evals).map { faultSeed &+ UInt64($0) } }
    var heldOutSeeds: [UInt64] { (0..<heldOutTrials).map { faultSeed &+ 1000 &+ UInt64($0) } }

    /// Everything loaded and checked.
    struct Loaded {
        var modelPath: String
        var bundle: ModelBundle
        var network: Network
        var profile: FaultProfile
        var imagesPath: String
        var fitness: (images: Tensor, labels: [Int], indices: [Int], range: String)
        var heldOut: (images: Tensor, labels: [Int], indices: [Int], range: String)?
    }

    func load() throws -> Loaded {
        let loadedModel = try model.load()
        let network = loadedModel.network
        let profile = try FaultProfile.load(path: self.profile)
        _ = try network.deviceLayers(named: layerNames, option: "--layers")
        let (imagesPath, labelsPath) = try data.images.map { ($0, data.labels!) } ?? DefaultTestSet.files(for: network.name)
        let set = try ImageDataOptions.open(images: imagesPath, labels: labelsPath, for: loadedModel)
        guard let allLabels = set.labels else { throw InputError(file: labelsPath, "no labels") }
        func part(_ text: String, option: String) throws -> (Tensor, [Int], [Int], String) {
            let r = try ProblemOptions.range(text, option: option)
            guard r.upperBound <= set.source.count else {
                throw InputError(file: option, "\(text) is outside the \(set.source.count) images of \(imagesPath)")
            }
            return (try set.source.batch(r), Array(allLabels[r]), Array(r), text)
        }
        let fitness = try part(fitnessRange, option: "--fitness-range")
        let heldOut = heldOutRange.isEmpty ? nil : try part(heldOutRange, option: "--held-out-range")
        return Loaded(modelPath: loadedModel.path, bundle: loadedModel.bundle, network: network, profile: profile, imagesPath: imagesPath,
                      fitness: fitness, heldOut: heldOut)
    }

    func search(_ loaded: Loaded) throws -> PlanSearch {
        let search = try PlanSearch(network: loaded.network, profile: loaded.profile, layers: layerNames,
                       images: loaded.fitness.images, labels: loaded.fitness.labels, imageIndices: loaded.fitness.indices,
                       faultSeeds: fitnessSeeds, threads: threads.count,
                       devices: robust > 0 ? try PosteriorDevices.draw(from: loaded.profile, count: robust, seed: robustSeed,
                                                                       file: profile) : [])
        search.matrixImages = matrixImages
        if let reason = search.fallbackReason { StandardError.write("has-plan: " + reason) }
        return search
    }
}

/// The GA settings as options.
struct GAOptions: ParsableArguments {
    @Option(help: "GA generations.")
    var generations: Int = 100
    @Option(help: "GA population size.")
    var population: Int = 20
    @Option(help: "Probability that two parents are recombined by order crossover.")
    var crossover: Double = 0.6
    @Option(help: "Probability that a child gets a swap mutation.")
    var mutation: Double = 0.2
    @Option(help: "Seed of the search's own random choices.")
    var seed: UInt64 = 1
    @Option(help: "ga/hybrid: independent GA runs (seeds --seed, +1, …), the best kept; the paper runs 3.")
    var runs: Int = 1
    @Option(help: "hybrid: new evaluations for the pairwise-swap hill climb after the GA (0 = none).")
    var polish: Int = 0
    @Option(help: "hybrid: new evaluations for the cost-matrix-guided swap climb before the GA (default: 5 × population).")
    var climb: Int?

    func validate() throws {
        if generations < 0 { throw ValidationError("--generations must not be negative") }
        if population < 2 { throw ValidationError("--population must be at least 2") }
        if !(0...1).contains(crossover) { throw ValidationError("--crossover must be in [0, 1]") }
        if !(0...1).contains(mutation) { throw ValidationError("--mutation must be in [0, 1]") }
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
        if polish < 0 { throw ValidationError("--polish must not be negative") }
        if let climb, climb < 0 { throw ValidationError("--climb must not be negative") }
    }

    var configuration: GAConfiguration {
        GAConfiguration(population: population, generations: generations, crossoverRate: crossover,
                        mutationRate: mutation, seed: seed)
    }
}

extension Strategy: ExpressibleByArgument {}

/// "12.34 ± 0.56".
func percent(_ m: SchedulePlan.Measurement) -> String {
    String(format: "%.2f%% ± %.2f", m.mean * 100, m.std * 100)
}
