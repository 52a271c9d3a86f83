import Foundation
import HASDiagnosis
import HASPlanner
import HASRuntime

/// The starting corpus: a few valid files of every format, made by the same
/// writers and runs that make them in use (no stored binary), into
/// `<directory>/<target>/`.
enum SeedCorpus {
    static func write(to directory: String, fixtures: FuzzFixtures) throws {
        for target in FuzzTarget.allCases {
            let folder = (directory as NSString).appendingPathComponent(target.rawValue)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for (i, seed) in try seeds(for: target, fixtures).enumerated() {
                try writeFileAtomically(seed, to: (folder as NSString).appendingPathComponent("seed-\(i)"))
            }
        }
    }

    static func seeds(for target: FuzzTarget, _ fixtures: FuzzFixtures) throws -> [[UInt8]] {
        let scratch = fixtures.inputPath(extension: ".seed")
        func written(_ write: (String) throws -> Void) throws -> [UInt8] {
            try write(scratch)
            return try readInputFile(scratch, maxBytes: 1 << 24, what: "seed")
        }
        var rng = SplitMix64(seed: 5)
        let pixels = (0..<3 * 8 * 8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        switch target {
        case .bundle:
            var dense = fixtures.bundle
            dense.manifest.layers = [LayerSpec(type: "flatten"), LayerSpec(type: "dense", name: "op", weight: "op.weight", bias: "op.bias")]
            dense.tensors = ["op.weight": Tensor(shape: [3, 64], data: (0..<192).map { Float($0 % 7) - 3 }), "op.bias": Tensor(zeros: [3])]
            return [try written(fixtures.bundle.write), try written(dense.write)]
        case .manifest, .tensor:
            let entry = target == .manifest ? "manifest.json" : "c0.weight.npy"
            return [fixtures.entries.first { $0.name == entry }!.data]
        case .npy:
            let float = NPYArray.encode(Tensor(shape: [2, 1, 8, 8], data: pixels.prefix(128).map { Float($0) / 255 }))
            return [uint8NPY(shape: [3, 8, 8], pixels), uint8NPY(shape: [2, 1, 12, 8], Array(pixels.prefix(192))), float]
        case .idx:
            let images = IDXImages(count: 3, height: 8, width: 8, pixels: pixels)
            return [try written { try images.write(to: $0, gzip: false) }, try written { try images.write(to: $0, gzip: true) },
                    try written { try IDXLabels(labels: [0, 2, 1]).write(to: $0, gzip: false) }]
        case .png:
            return [try written(GrayImage(height: 8, width: 8, pixels: Array(pixels.prefix(64))).writePNG),
                    try written(GrayImage(height: 12, width: 16, pixels: Array(pixels.prefix(192))).writePNG)]
        case .profile:
            let diagnosedLike = try FaultProfile.synthetic(kind: .bitflip, frMax: 0.2, seed: 3, blocks: 2, threads: 4,
                                                           exponentBits: .all8, tiling: .init(denseTileK: 16, convTileK: 4))
            return [Array(fixtures.profile.json().utf8), Array(diagnosedLike.json().utf8)]
        case .plan:
            let layers = fixtures.network.weightedLayers.map { layer in
                SchedulePlan.LayerPermutation(name: layer.name, permutation: Permutations.random(layer.shape.m, using: &rng))
            }
            let plan = SchedulePlan(model: .init(name: fixtures.network.name, weightsDigest: fixtures.bundle.weightsDigest),
                                    profileFingerprint: fixtures.profile.fingerprint, layers: layers,
                                    provenance: .init(strategy: "ga", seed: 1, faultSeeds: [1, 2], population: 4, generations: 3,
                                                                      evaluations: 12, wallSeconds: 0.5, fitnessImages: "images"))
            return [Array(try plan.jsonText().utf8)]
        case .planCheckpoint: return [try planCheckpointContent(fixtures)]
        case .sensitivityCheckpoint:
            let configuration = SensitivityAnalysis.Configuration(layerGroups: [["c0"], ["op"]], kinds: [.flip1, .zero],
                                                                  frMax: [.flip1: [0.01], .zero: [0.5]], deviceSeeds: [1], trials: 2)
            let key = SensitivityCheckpoint.Key(model: "fuzz-tiny", weightsDigest: fixtures.bundle.weightsDigest, images: "images",
                                                imageCount: 40, configuration: configuration)
            let cell = SensitivityAnalysis.Cell(layers: ["c0"], kind: .flip1, frMax: 0.01, deviceSeed: 1,
                                                fingerprint: fixtures.profile.fingerprint, accuracies: [0.75, 0.8], cleanAccuracy: 0.9)
            return [try sortedJSON(SensitivityCheckpoint(key: key, cells: [cell], elapsedSeconds: 2.5))]
        case .diagnosisCheckpoint:
            var settings = DiagnosisSettings(precision: 0.3, rateFloor: 0.05, maxGEMMs: 2)
            settings.maxColumns = 64
            let device = SimulatedDevice(profile: fixtures.profile, seed: 1, threads: 1)
            let run = try DeviceDiagnosis(device: device, settings: settings).run()
            return [try sortedJSON(DiagnosisCheckpoint(device: "fuzz-device", settings: settings, state: run.state))]
        }
    }

    /// A GA checkpoint's content as `has-plan` writes it mid-run, on the tiny model's c0 and op.
    private static func planCheckpointContent(_ fixtures: FuzzFixtures) throws -> [UInt8] {
        var rng = SplitMix64(seed: 8)
        let count = 24
        let images = Tensor(shape: [count, 1, 8, 8], data: (0..<count * 64).map { _ in rng.nextUnitFloat() })
        let labels = (0..<count).map { $0 % 3 }
        let search = try PlanSearch(network: fixtures.network, profile: fixtures.profile, layers: ["c0", "op"], images: images,
                                    labels: labels, imageIndices: Array(0..<count), faultSeeds: [1, 2], threads: 1)
        let configuration = GAConfiguration(population: 4, generations: 3, seed: 1)
        let key = PlanRunKey(model: fixtures.network.name, weightsDigest: fixtures.bundle.weightsDigest,
                             fingerprint: fixtures.profile.fingerprint, layers: ["c0", "op"], strategy: .ga,
                             fitnessImages: "images", faultSeeds: [1, 2], configuration: configuration)
        let runner = PlanRunner(search: search, strategy: .ga, configuration: configuration, key: key)
        let path = fixtures.inputPath(extension: ".checkpoint")
        var saved: [UInt8]?
        runner.checkpointPath = path
        runner.afterCheckpoint = { if saved == nil { saved = try? readInputFile(path, maxBytes: 1 << 24, what: "checkpoint") } }
        _ = try runner.run(checkpointFile: path)
        guard let saved, let envelope = try JSONSerialization.jsonObject(with: Data(saved)) as? [String: Any],
              let content = envelope["content"] else {
            throw InputError(file: path, "the GA wrote no checkpoint to seed the corpus with")
        }
        return Array(try JSONSerialization.data(withJSONObject: content, options: [.sortedKeys]))
    }

    private static func sortedJSON<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    /// A uint8 `.npy` array (the image format `ImageSet` reads besides float32).
    private static func uint8NPY(shape: [Int], _ values: [UInt8]) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ")
        var header = "{'descr': '|u1', 'fortran_order': False, 'shape': (\(dims)), }"
        header += String(repeating: " ", count: 63 - (10 + header.utf8.count + 1 + 63) % 64) + "\n"
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
            + Array(header.utf8) + values
    }
}
