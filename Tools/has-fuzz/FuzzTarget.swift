import Foundation
import HASCommandLine
import HASDiagnosis
import HASPlanner
import HASRuntime

/// One parser (and what the tools do right after parsing) under fuzzing.
/// Each target takes the bytes of one file, writes them where the tools
/// would read them, and drives the same library calls the tools make. A
/// refusal is an `InputError` of one line; anything else (a crash, a trap, a
/// sanitizer report, another error type, a multi-line message) is a finding.
enum FuzzTarget: String, CaseIterable {
    case bundle, manifest, tensor, npy, idx, png, profile, plan
    case planCheckpoint = "plan-checkpoint"
    case sensitivityCheckpoint = "sensitivity-checkpoint"
    case diagnosisCheckpoint = "diagnosis-checkpoint"

    /// The file name extension the tools key on (`.npy` images, `.zip` bundles).
    var fileExtension: String {
        switch self {
        case .bundle, .manifest, .tensor: ".zip"
        case .npy: ".npy"
        case .idx: ".idx"
        case .png: ".png"
        default: ".json"
        }
    }

    /// Largest input worth mutating: bundles need room for a zip of tensors.
    var maxLength: Int { self == .bundle || self == .png ? 65536 : 16384 }

    /// Reads `bytes` as the tools would and exercises what follows parsing.
    func exercise(_ bytes: [UInt8], _ fixtures: FuzzFixtures) throws {
        let path = fixtures.inputPath(extension: fileExtension)
        // A mutated zip rarely keeps its CRCs: the manifest and tensor targets mutate one
        // entry and zip it with the tiny model's other entries, reaching the parsers behind them.
        switch self {
        case .manifest: try writeFileAtomically(ZipArchive.write(fixtures.tinyEntries(replacing: "manifest.json", with: bytes), file: path), to: path)
        case .tensor: try writeFileAtomically(ZipArchive.write(fixtures.tinyEntries(replacing: "c0.weight.npy", with: bytes), file: path), to: path)
        default: try writeFileAtomically(bytes, to: path)
        }
        switch self {
        case .bundle, .manifest, .tensor: try Self.bundle(path, fixtures)
        case .npy:
            _ = try? NPYArray.decode(bytes, file: path)
            let set = try ImageSet.open(images: path, labels: nil, limit: nil, input: fixtures.bundle.manifest.input,
                                        model: fixtures.network.name, classCount: 3)
            _ = try set.source.batch(0..<min(2, set.source.count))
        case .idx:
            _ = try? IDXLabels.read(path: path, limit: 3)
            let set = try ImageSet.open(images: path, labels: nil, limit: 4, input: fixtures.bundle.manifest.input,
                                        model: fixtures.network.name, classCount: 3)
            _ = try set.source.batch(0..<set.source.count)
        case .png:
            let set = try ImageSet.open(pngs: [path], input: fixtures.bundle.manifest.input, model: fixtures.network.name)
            _ = try Classifier(network: fixtures.network, batchSize: 1).classify(set.source)
        case .profile: try Self.profile(path)
        case .plan:
            let plan = try SchedulePlan.load(from: path, maxBytes: SchedulePlan.maxFileBytes(for: fixtures.network))
            try plan.validate(for: fixtures.network, weightsDigest: fixtures.bundle.weightsDigest, fingerprint: nil, file: path)
            let injector = try FaultInjector(network: fixtures.network, profile: fixtures.profile, seed: 1, threads: 1)
            _ = try Classifier(network: fixtures.network, batchSize: 1)
                .classify(TensorImageSource(Tensor(zeros: [1, 1, 8, 8])), options: injector.options(ForwardOptions(permutations: plan.permutations, threads: 1)))
        case .planCheckpoint: try CheckpointTargets.plan(bytes, path: path)
        case .sensitivityCheckpoint: try CheckpointTargets.sensitivity(bytes, path: path)
        case .diagnosisCheckpoint: try CheckpointTargets.diagnosis(bytes, path: path)
        }
    }

    /// Loads the bundle as has-run does and, when it is small enough to run in
    /// a moment, classifies one image clean and on a faulty device.
    private static func bundle(_ path: String, _ fixtures: FuzzFixtures) throws {
        let model = try LoadedModel(path: path)
        let network = model.network
        let work = network.weightedLayers.reduce(0) { $0 + $1.shape.m * $1.shape.k * $1.shape.columnsPerImage }
        guard work <= 1 << 20, network.inputShape.reduce(1, *) <= 1 << 16 else { return }
        let images = TensorImageSource(Tensor(zeros: [1] + network.inputShape))
        let classifier = Classifier(network: network, batchSize: 1)
        _ = try classifier.classify(images, options: ForwardOptions(threads: 1))
        let injector = try FaultInjector(network: network, profile: fixtures.profile, seed: 1, threads: 1)
        _ = try classifier.classify(images, options: injector.options(ForwardOptions(threads: 1)))
    }

    /// Loads a profile; a profile that loads must survive its own round trip
    /// (written, read back: the same profile and fingerprint).
    private static func profile(_ path: String) throws {
        let profile = try FaultProfile.load(path: path)
        let again = try FaultProfile.decode(Data(profile.json().utf8), file: path + " (rewritten)")
        guard again.fingerprint == profile.fingerprint, again.rates == profile.rates else {
            fatalError("\(path): the profile does not survive its own round trip")
        }
    }
}
