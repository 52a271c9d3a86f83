/// `manifest.json` of a model bundle: what the network is and where it came from.
/// Schema: docs/bundle-format.md. Keys are snake_case in JSON.
public struct Manifest: Codable, Equatable, Sendable {
    /// Always "has-bundle".
    public var format: String
    /// Schema version; readers refuse versions they do not know.
    public var formatVersion: Int
    /// Model name, e.g. "mnist32-cnn".
    public var name: String
    public var input: InputSpec
    /// Class names, index = output unit.
    public var classes: [String]
    public var layers: [LayerSpec]
    public var provenance: Provenance?

    public static let currentFormat = "has-bundle"
    public static let currentVersion = 1

    public init(name: String, input: InputSpec, classes: [String], layers: [LayerSpec], provenance: Provenance? = nil) {
        self.format = Manifest.currentFormat
        self.formatVersion = Manifest.currentVersion
        self.name = name
        self.input = input
        self.classes = classes
        self.layers = layers
        self.provenance = provenance
    }

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", name, input, classes, layers, provenance
    }
}

/// What the network consumes and how raw images become that.
public struct InputSpec: Codable, Equatable, Sendable {
    /// Shape of one input, CHW, e.g. [1, 32, 32].
    public var shape: [Int]
    public var preprocessing: Preprocessing

    public init(shape: [Int], preprocessing: Preprocessing) {
        self.shape = shape
        self.preprocessing = preprocessing
    }
}

/// Raw 8-bit pixels → model input: x = pixel * scale + offset, after an optional resize.
public struct Preprocessing: Codable, Equatable, Sendable {
    /// Multiplier applied to raw 0…255 pixel values (1/255 maps to [0, 1]).
    public var scale: Float
    public var offset: Float
    /// "none" or "bilinear": resize the raw image to the input's H×W first.
    public var resize: String

    public init(scale: Float = 1.0 / 255.0, offset: Float = 0, resize: String = "none") {
        self.scale = scale
        self.offset = offset
        self.resize = resize
    }
}

/// One layer of the network, applied in order.
///
/// `type` is one of conv2d, dense, relu, maxpool2d, flatten, dropout, softmax.
/// Weighted layers (conv2d, dense) have a `name` (c0, h0, …): that is the name
/// plans and fault settings use. Paddings are explicit [top, left, bottom, right]
/// (ONNX `pads` order).
public struct LayerSpec: Codable, Equatable, Sendable {
    public var type: String
    public var name: String?
    /// Tensor names in the bundle (numpy key = entry name without ".npy").
    public var weight: String?
    public var bias: String?
    /// conv2d / maxpool2d: [sh, sw].
    public var stride: [Int]?
    /// conv2d: [top, left, bottom, right].
    public var padding: [Int]?
    /// maxpool2d: [kh, kw].
    public var kernel: [Int]?
    /// dropout: drop probability at training time (no-op at inference).
    public var rate: Float?

    public init(type: String, name: String? = nil, weight: String? = nil, bias: String? = nil,
                stride: [Int]? = nil, padding: [Int]? = nil, kernel: [Int]? = nil, rate: Float? = nil) {
        self.type = type
        self.name = name
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.kernel = kernel
        self.rate = rate
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case type, name, weight, bias, stride, padding, kernel, rate
    }

    /// Any key, to find the ones a layer does not know.
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes the known fields and refuses any other: a field the runtime would
    /// ignore (`dilation`, `groups`) would silently change what the model computes.
    public init(from decoder: Decoder) throws {
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [unknown],
                                                    debugDescription: LayerSpec.unknownField))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(type: try c.decode(String.self, forKey: .type), name: try c.decodeIfPresent(String.self, forKey: .name),
                  weight: try c.decodeIfPresent(String.self, forKey: .weight),
                  bias: try c.decodeIfPresent(String.self, forKey: .bias),
                  stride: try c.decodeIfPresent([Int].self, forKey: .stride),
                  padding: try c.decodeIfPresent([Int].self, forKey: .padding),
                  kernel: try c.decodeIfPresent([Int].self, forKey: .kernel),
                  rate: try c.decodeIfPresent(Float.self, forKey: .rate))
    }

    static let unknownField = "unknown field"
}

/// Where a model came from. Every field optional so users can bring their own.
public struct Provenance: Codable, Equatable, Sendable {
    public var dataset: String?
    /// SHA-256 of each data file used, by file name.
    public var datasetFiles: [String: String]?
    public var seed: UInt64?
    public var epochs: Int?
    public var optimizer: String?
    public var learningRate: Double?
    public var testAccuracy: Double?
    public var trainingSeconds: Double?
    public var trainer: String?
    public var notes: String?
    // Training details written by has-train (absent in older bundles).
    public var batchSize: Int?
    /// e.g. "cosine" or "constant".
    public var learningRateSchedule: String?
    /// Data augmentation applied to training images, in words; nil if none.
    public var augmentation: String?
    /// Images trained on and held out for validation (from the training file).
    public var trainingImages: Int?
    public var validationImages: Int?
    /// Top-1 accuracy on the held-out validation images at the kept epoch.
    public var validationAccuracy: Double?
    /// The epoch whose weights were kept (best validation accuracy).
    public var bestEpoch: Int?
    /// Images the test accuracy was measured on.
    public var testImages: Int?
    /// The command that made the bundle.
    public var commandLine: String?
    /// Function-preserving rescalings applied after training, in order, e.g.
    /// "c0 x4, h0 /4" (see docs/training.md); nil if none.
    public var rescaling: [String]?

    public init(dataset: String? = nil, datasetFiles: [String: String]? = nil, seed: UInt64? = nil,
                epochs: Int? = nil, optimizer: String? = nil, learningRate: Double? = nil,
                testAccuracy: Double? = nil, trainingSeconds: Double? = nil, trainer: String? = nil,
                notes: String? = nil, batchSize: Int? = nil, learningRateSchedule: String? = nil,
                augmentation: String? = nil, trainingImages: Int? = nil, validationImages: Int? = nil,
                validationAccuracy: Double? = nil, bestEpoch: Int? = nil, testImages: Int? = nil,
                commandLine: String? = nil, rescaling: [String]? = nil) {
        self.dataset = dataset
        self.datasetFiles = datasetFiles
        self.seed = seed
        self.epochs = epochs
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.testAccuracy = testAccuracy
        self.trainingSeconds = trainingSeconds
        self.trainer = trainer
        self.notes = notes
        self.batchSize = batchSize
        self.learningRateSchedule = learningRateSchedule
        self.augmentation = augmentation
        self.trainingImages = trainingImages
        self.validationImages = validationImages
        self.validationAccuracy = validationAccuracy
        self.bestEpoch = bestEpoch
        self.testImages = testImages
        self.commandLine = commandLine
        self.rescaling = rescaling
    }

    enum CodingKeys: String, CodingKey {
        case dataset, datasetFiles = "dataset_files", seed, epochs, optimizer
        case learningRate = "learning_rate", testAccuracy = "test_accuracy"
        case trainingSeconds = "training_seconds", trainer, notes
        case batchSize = "batch_size", learningRateSchedule = "learning_rate_schedule", augmentation
        case trainingImages = "training_images", validationImages = "validation_images"
        case validationAccuracy = "validation_accuracy", bestEpoch = "best_epoch", testImages = "test_images"
        case commandLine = "command_line", rescaling
    }
}

// MARK: - Validation

extension Manifest {
    /// What each layer type must and may carry, besides `type`.
    fileprivate static let layerFields: [String: (required: Set<String>, optional: Set<String>)] = [
        "conv2d": (["name", "weight", "bias", "stride", "padding"], []),
        "dense": (["name", "weight", "bias"], []),
        "maxpool2d": (["kernel", "stride"], ["name"]),
        "dropout": ([], ["name", "rate"]),
        "relu": ([], ["name"]),
        "flatten": ([], ["name"]),
        "softmax": ([], ["name"]),
    ]

    /// The tensors the layers reference (weights and biases), in layer order.
    var tensorNames: [String] {
        layers.flatMap { [$0.weight, $0.bias].compactMap { $0 } }
    }

    /// Layer types the runtime runs.
    public static var layerTypes: [String] { layerFields.keys.sorted() }

    /// Most values in one input image (e.g. 3 × 1182 × 1182): a batch of 256 is then at most 4 GiB.
    public static let maxInputElements = 1 << 22

    /// What is wrong with a model or layer name, if anything: names become path
    /// components (Plans/<model>/) and CSV fields, so they are 1–64 characters of
    /// letters, digits, '.', '_' and '-', not starting with '.'.
    public static func nameProblem(_ name: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(name.count) else { return "must be 1 to 64 characters, got \(name.count)" }
        guard name.allSatisfy(allowed.contains) else {
            return "'\(name.unicodeScalars.map { $0.isASCII && $0.value >= 32 ? String($0) : "?" }.joined())' may only hold "
                + "letters, digits, '.', '_' and '-'"
        }
        guard !name.hasPrefix(".") else { return "'\(name)' must not start with '.'" }
        return nil
    }

    /// Checks everything the manifest says on its own (not against tensors):
    /// format and version, input shape and preprocessing, classes, and each
    /// layer's type, fields and values. Dimensions, strides and paddings are
    /// capped at `NPYArray.maxDimension` so that shape arithmetic cannot overflow.
    /// - Throws: `InputError(file:)` naming the layer and the problem.
    public func validate(file: String) throws {
        func fail(_ problem: String) -> InputError { InputError(file: file, problem) }
        guard format == Manifest.currentFormat else {
            throw fail("manifest.json: format is '\(format)', expected '\(Manifest.currentFormat)'")
        }
        guard formatVersion == Manifest.currentVersion else {
            throw fail("manifest.json: format_version \(formatVersion) is not supported (this reader knows \(Manifest.currentVersion))")
        }
        // The name becomes a directory of the plan store (Plans/<name>/): a fixed safe set, no "." or "..".
        if let problem = Manifest.nameProblem(name) { throw fail("manifest.json: model name \(problem)") }
        guard input.shape.count == 3 else { throw fail("input shape \(input.shape) is not 3-D [C, H, W]") }
        guard input.shape.allSatisfy({ (1...NPYArray.maxDimension).contains($0) }),
              input.shape.saturatingProduct <= Manifest.maxInputElements else {
            throw fail("input shape \(input.shape) must have positive dimensions and at most \(Manifest.maxInputElements) "
                       + "values per image (a batch of them is held in memory)")
        }
        let preprocessing = input.preprocessing
        guard preprocessing.scale.isFinite, preprocessing.offset.isFinite else {
            throw fail("input preprocessing scale and offset must be finite")
        }
        guard ["none", "bilinear"].contains(preprocessing.resize) else {
            throw fail("input preprocessing resize '\(preprocessing.resize)' is not 'none' or 'bilinear'")
        }
        guard !classes.isEmpty else { throw fail("manifest.json: classes is empty") }
        guard !layers.isEmpty else { throw fail("manifest.json: layers is empty") }
        var names = Set<String>()
        for (index, layer) in layers.enumerated() {
            let label = layer.label(index: index)
            try layer.validate(label: label, fail: fail)
            if let name = layer.name {
                if let problem = Manifest.nameProblem(name) { throw fail("\(label): layer name \(problem)") }
                guard names.insert(name).inserted else { throw fail("\(label): name is used by an earlier layer") }
            }
        }
    }
}

extension LayerSpec {
    /// How messages name a layer: `layer h0`, or `layer 3 (relu)` if unnamed.
    func label(index: Int) -> String {
        name.map { "layer \($0)" } ?? "layer \(index) (\(type))"
    }

    /// The fields that are set, by their JSON keys.
    private var presentFields: Set<String> {
        let fields: [(String, Bool)] = [
            ("name", name != nil), ("weight", weight != nil), ("bias", bias != nil), ("stride", stride != nil),
            ("padding", padding != nil), ("kernel", kernel != nil), ("rate", rate != nil),
        ]
        return Set(fields.filter(\.1).map(\.0))
    }

    fileprivate func validate(label: String, fail: (String) -> InputError) throws {
        guard let fields = Manifest.layerFields[type] else {
            throw fail("\(label): unknown layer type '\(type)' (known: \(Manifest.layerTypes.joined(separator: ", ")))")
        }
        let present = presentFields
        if let missing = fields.required.subtracting(present).sorted().first {
            throw fail("\(label): \(type) needs '\(missing)'")
        }
        if let extra = present.subtracting(fields.required).subtracting(fields.optional).sorted().first {
            throw fail("\(label): \(type) takes no '\(extra)'")
        }
        for (key, value) in [("name", name), ("weight", weight), ("bias", bias)] where value?.isEmpty == true {
            throw fail("\(label): '\(key)' is empty")
        }
        let limit = NPYArray.maxDimension
        if let stride, stride.count != 2 || !stride.allSatisfy({ (1...limit).contains($0) }) {
            throw fail("\(label): stride \(stride) must be [sh, sw], each from 1 to \(limit)")
        }
        if let kernel, kernel.count != 2 || !kernel.allSatisfy({ (1...limit).contains($0) }) {
            throw fail("\(label): kernel \(kernel) must be [kh, kw], each from 1 to \(limit)")
        }
        if let padding, padding.count != 4 || !padding.allSatisfy({ (0...limit).contains($0) }) {
            throw fail("\(label): padding \(padding) must be [top, left, bottom, right], each from 0 to \(limit)")
        }
        if let rate, !(rate >= 0 && rate < 1) {
            throw fail("\(label): dropout rate \(rate) is not in [0, 1)")
        }
    }
}
