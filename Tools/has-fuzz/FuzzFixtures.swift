import Foundation
import HASDiagnosis
import HASRuntime

/// What the targets check fuzzed files against: a tiny model (the plan and
/// image targets need one), a tiny device, and a scratch folder where each
/// input is written so that it goes through the same file-reading code the
/// tools use.
struct FuzzFixtures {
    let bundle: ModelBundle
    let network: Network
    let profile: FaultProfile
    let scratch: String
    /// The tiny bundle's zip entries, as `ModelBundle.write` lays them out.
    let entries: [ZipArchive.Entry]

    /// [1, 8, 8] → c0 (2 kernels 3×3, padding 1) → ReLU → pool 2×2 → op (32 → 3).
    static func tinyBundle() -> ModelBundle {
        var rng = SplitMix64(seed: 11)
        func tensor(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextSignedUnit() })
        }
        let manifest = Manifest(
            name: "fuzz-tiny", input: InputSpec(shape: [1, 8, 8], preprocessing: Preprocessing(resize: "bilinear")),
            classes: ["a", "b", "c"],
            layers: [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1], padding: [1, 1, 1, 1]),
                     LayerSpec(type: "relu"), LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]),
                     LayerSpec(type: "flatten"), LayerSpec(type: "dense", name: "op", weight: "op.weight", bias: "op.bias")])
        return ModelBundle(manifest: manifest, tensors: ["c0.weight": tensor([2, 1, 3, 3]), "c0.bias": tensor([2]),
                                                         "op.weight": tensor([3, 32]), "op.bias": tensor([3])])
    }

    static func tinyProfile() throws -> FaultProfile {
        try FaultProfile.synthetic(kind: .flip1, frMax: 0.05, seed: 1, blocks: 4, threads: 8)
    }

    init() throws {
        bundle = Self.tinyBundle()
        network = try Network(manifest: bundle.manifest, tensors: bundle.tensors, file: "fuzz-tiny")
        profile = try Self.tinyProfile()
        scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("has-fuzz-\(getpid())")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let tiny = (scratch as NSString).appendingPathComponent("tiny.zip")
        try bundle.write(to: tiny)
        entries = try ZipArchive.read(try readInputFile(tiny, maxBytes: 1 << 20, what: "tiny bundle"), file: tiny)
    }

    /// The tiny bundle's entries with `name`'s data replaced.
    func tinyEntries(replacing name: String, with data: [UInt8]) -> [ZipArchive.Entry] {
        entries.map { $0.name == name ? ZipArchive.Entry(name: name, data: data) : $0 }
    }

    /// The scratch file for one input, named with the target's extension.
    func inputPath(extension ext: String) -> String { (scratch as NSString).appendingPathComponent("input" + ext) }
}
