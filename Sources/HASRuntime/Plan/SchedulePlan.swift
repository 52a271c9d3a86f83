import Foundation

/// A schedule plan (spec §6): one row permutation per planned layer of one
/// model, for the device whose fault profile has `profileFingerprint`.
/// Stored as `Plans/<model>/<fingerprint>.json`; format in docs/plans.md.
public struct SchedulePlan: Codable, Equatable, Sendable {
    public static let formatName = "has-schedule-plan"
    public static let formatVersion = 1

    public var format: String
    public var version: Int
    public var model: ModelIdentity
    public var profileFingerprint: String
    public var layers: [LayerPermutation]
    public var provenance: Provenance
    public var accuracy: Accuracies?

    public struct ModelIdentity: Codable, Equatable, Sendable {
        public var name: String
        /// `ModelBundle.weightsDigest` of the bundle the plan was made for.
        public var weightsDigest: String
        public init(name: String, weightsDigest: String) { self.name = name; self.weightsDigest = weightsDigest }
    }

    public struct LayerPermutation: Codable, Equatable, Sendable {
        public var name: String
        /// π: position r of the shuffled weight matrix computes original row π[r].
        public var permutation: [Int32]
        public init(name: String, permutation: [Int32]) { self.name = name; self.permutation = permutation }
    }

    /// How the plan was made.
    public struct Provenance: Codable, Equatable, Sendable {
        /// `ga`, `assign` or `hybrid`.
        public var strategy: String
        /// Seed of the search's own choices.
        public var seed: UInt64
        /// Fault-draw seeds of the fitness evaluations (common random numbers).
        public var faultSeeds: [UInt64]
        public var population: Int?
        /// Generations of each GA run.
        public var generations: Int?
        /// Independent GA runs, the best kept, when more than one.
        public var runs: Int?
        public var crossoverRate: Double?
        public var mutationRate: Double?
        /// Evaluation budget of the hybrid's final pairwise-swap climb (`--polish`), when it had one.
        public var polish: Int?
        /// Evaluation budget of the hybrid's cost-matrix-guided climb before the GA (`--climb`).
        public var climb: Int?
        /// Devices drawn from the diagnosed profile's posterior that the plan was made for (`--robust`).
        public var robust: Int?
        /// Distinct plans evaluated (each over `faultSeeds.count` fault draws).
        public var evaluations: Int
        public var wallSeconds: Double
        /// Images (half-open index range in `dataset`) the search optimised on.
        public var fitnessImages: String
        public var heldOutImages: String?
        public var dataset: String?
        public var created: String?
        public init(strategy: String, seed: UInt64, faultSeeds: [UInt64], population: Int? = nil, generations: Int? = nil,
                    crossoverRate: Double? = nil, mutationRate: Double? = nil, polish: Int? = nil, climb: Int? = nil, runs: Int? = nil,
                    robust: Int? = nil, evaluations: Int,
                    wallSeconds: Double, fitnessImages: String, heldOutImages: String? = nil, dataset: String? = nil, created: String? = nil) {
            self.strategy = strategy; self.seed = seed; self.faultSeeds = faultSeeds
            self.population = population; self.generations = generations
            self.crossoverRate = crossoverRate; self.mutationRate = mutationRate; self.polish = polish
            self.climb = climb; self.runs = runs; self.robust = robust
            self.evaluations = evaluations; self.wallSeconds = wallSeconds
            self.fitnessImages = fitnessImages; self.heldOutImages = heldOutImages
            self.dataset = dataset; self.created = created
        }
    }

    /// Top-1 accuracy as a mean over fault draws, with its standard deviation.
    public struct Measurement: Codable, Equatable, Sendable {
        public var mean: Double
        public var std: Double
        public var trials: [Double]
        public init(trials: [Double]) {
            self.trials = trials
            let n = Double(max(trials.count, 1))
            let m = trials.reduce(0, +) / n
            mean = m
            std = trials.count > 1 ? (trials.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot() : 0
        }
    }

    /// Clean, faulty (identity schedule) and planned accuracy on one image set.
    public struct ImageSetAccuracy: Codable, Equatable, Sendable {
        public var images: String
        public var clean: Double
        public var faulty: Measurement
        public var planned: Measurement
        public init(images: String, clean: Double, faulty: Measurement, planned: Measurement) {
            self.images = images; self.clean = clean; self.faulty = faulty; self.planned = planned
        }
        /// (planned − faulty) / (clean − faulty): the share of the lost accuracy won back.
        public var recovery: Double? {
            let lost = clean - faulty.mean
            return lost > 0 ? (planned.mean - faulty.mean) / lost : nil
        }
    }

    public struct Accuracies: Codable, Equatable, Sendable {
        public var fitness: ImageSetAccuracy?
        public var heldOut: ImageSetAccuracy?
        public init(fitness: ImageSetAccuracy?, heldOut: ImageSetAccuracy?) { self.fitness = fitness; self.heldOut = heldOut }
    }

    public init(model: ModelIdentity, profileFingerprint: String, layers: [LayerPermutation],
                provenance: Provenance, accuracy: Accuracies? = nil) {
        self.format = SchedulePlan.formatName
        self.version = SchedulePlan.formatVersion
        self.model = model
        self.profileFingerprint = profileFingerprint
        self.layers = layers
        self.provenance = provenance
        self.accuracy = accuracy
    }

    /// The permutations in the form `ForwardOptions.permutations` takes.
    public var permutations: [String: [Int32]] {
        Dictionary(layers.map { ($0.name, $0.permutation) }, uniquingKeysWith: { a, _ in a })
    }

    /// The score plans are compared by: planned accuracy on the held-out
    /// images, else on the fitness images.
    public var measuredAccuracy: Double? {
        accuracy?.heldOut?.planned.mean ?? accuracy?.fitness?.planned.mean
    }

    // MARK: Files

    /// `<plans>/<model>/<fingerprint>.json`.
    public static func path(in plansDirectory: String, model: String, fingerprint: String) -> String {
        // As the user named the directory (relative stays relative: no machine's paths in reports).
        ((plansDirectory as NSString).appendingPathComponent(model) as NSString)
            .appendingPathComponent("\(fingerprint).json")
    }

    public static let maxFileBytes = 64 << 20

    /// The largest plan `network` can have (every weighted layer permuted, as
    /// pretty JSON: under 32 bytes per row, plus room for the provenance): a
    /// larger file is refused before it is parsed.
    public static func maxFileBytes(for network: Network) -> Int {
        min(maxFileBytes, (1 << 20) + 32 * network.weightedLayers.reduce(0) { $0 + $1.shape.m })
    }

    /// The plan file for (model, fingerprint) under `plansDirectory`, if there is
    /// anything at that path: a broken link, a link loop or a FIFO there is then
    /// refused by `load` with its reason, not taken for "no plan".
    public static func find(in plansDirectory: String, model: String, fingerprint: String) -> String? {
        let candidate = path(in: plansDirectory, model: model, fingerprint: fingerprint)
        var info = stat()
        return lstat(candidate, &info) == 0 ? candidate : nil
    }

    /// Reads and decodes a plan; checks its own consistency (format, names,
    /// each array a permutation of 0..<count). Checks against a model are
    /// `validate(for:)`.
    /// - Parameter maxBytes: the size limit (`maxFileBytes(for:)` when the model is known).
    /// - Throws: `InputError(file: path, …)`.
    public static func load(from path: String, maxBytes: Int = maxFileBytes) throws -> SchedulePlan {
        let bytes = try InputFile(path: path).readAll(maxBytes: maxBytes, what: "plan")
        if let problem = StrictJSON.problem(in: Data(bytes)) { throw InputError(file: path, "not a schedule plan: \(problem)") }
        let plan: SchedulePlan
        do {
            plan = try JSONDecoder.snakeCase.decode(SchedulePlan.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw InputError(file: path, "not a schedule plan: \(error.briefDescription)")
        } catch {
            throw InputError(file: path, "not a schedule plan: \(error)")
        }
        try plan.checkSelfConsistent(file: path)
        return plan
    }

    func checkSelfConsistent(file: String) throws {
        func fail(_ problem: String) -> InputError { InputError(file: file, problem) }
        guard format == SchedulePlan.formatName else { throw fail("format is '\(format)', expected '\(SchedulePlan.formatName)'") }
        guard version == SchedulePlan.formatVersion else {
            throw fail("plan format version \(version) is not supported (this build reads version \(SchedulePlan.formatVersion))")
        }
        guard !layers.isEmpty else { throw fail("the plan has no layers") }
        var names = Set<String>()
        for layer in layers {
            guard names.insert(layer.name).inserted else { throw fail("layer '\(layer.name)' appears twice") }
            guard SchedulePlan.isPermutation(layer.permutation) else {
                throw fail("layer '\(layer.name)': the array is not a permutation of 0..<\(layer.permutation.count)")
            }
        }
    }

    /// Checks that the plan belongs to this model and device and fits its layers.
    /// - Throws: `InputError(file:)` for another model (name or weights), another
    ///   fingerprint, a layer the model lacks, or a permutation of the wrong length.
    public func validate(for network: Network, weightsDigest: String, fingerprint: String?, file: String) throws {
        func fail(_ problem: String) -> InputError { InputError(file: file, problem) }
        try checkSelfConsistent(file: file)
        guard model.name == network.name else {
            throw fail("the plan is for model '\(model.name)', not '\(network.name)'")
        }
        guard model.weightsDigest == weightsDigest else {
            throw fail("the plan is for other weights of '\(model.name)' (digest \(model.weightsDigest.prefix(12))…, the bundle's is \(weightsDigest.prefix(12))…)")
        }
        if let fingerprint, fingerprint != profileFingerprint {
            throw fail("the plan is for the device with fingerprint \(profileFingerprint.prefix(12))…, not \(fingerprint.prefix(12))…")
        }
        let shapes = Dictionary(network.weightedLayers.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for layer in layers {
            guard let shape = shapes[layer.name] else {
                throw fail("layer '\(layer.name)' is not a weighted layer of '\(network.name)' (it has \(network.weightedLayers.map(\.name).joined(separator: ", ")))")
            }
            guard layer.permutation.count == shape.m else {
                throw fail("layer '\(layer.name)': the permutation has \(layer.permutation.count) entries but the layer has \(shape.m) rows")
            }
        }
    }

    static func isPermutation(_ p: [Int32]) -> Bool {
        var seen = [Bool](repeating: false, count: p.count)
        for v in p {
            guard v >= 0, Int(v) < p.count, !seen[Int(v)] else { return false }
            seen[Int(v)] = true
        }
        return true
    }

    /// Pretty, key-sorted JSON.
    public func jsonText() throws -> String {
        let data = try JSONEncoder.snakeCasePretty.encode(self)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Writes the plan atomically, creating the directory if needed.
    public func write(to path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try makeDirectory(directory)
        try writeFileAtomically(try jsonText(), to: path)
    }
}

extension JSONDecoder {
    fileprivate static var snakeCase: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}

extension JSONEncoder {
    fileprivate static var snakeCasePretty: JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
