import HASRuntime

/// A network's design before it has weights: input, classes and layers.
public struct ModelArchitecture: Sendable {
    /// One layer of the design.
    public enum Layer: Equatable, Sendable {
        /// Padding [top, left, bottom, right].
        case conv2d(name: String, outChannels: Int, kernel: [Int], stride: [Int], padding: [Int])
        case dense(name: String, outFeatures: Int)
        case relu
        case maxPool2d(kernel: [Int], stride: [Int])
        case flatten
        case dropout(rate: Float)
        /// Final softmax: trained through the cross-entropy loss.
        case softmax
    }

    public var name: String
    public var input: InputSpec
    public var classes: [String]
    public var layers: [Layer]

    public init(name: String, input: InputSpec, classes: [String], layers: [Layer]) {
        self.name = name
        self.input = input
        self.classes = classes
        self.layers = layers
    }

    /// The architectures the trainer knows by name (spec §4).
    public static let known: [String: ModelArchitecture] = [
        mnist32CNN.name: mnist32CNN, fashionCNN.name: fashionCNN,
    ]

    /// MNIST resized 28→32 bilinear: c0 conv 32×4×4 valid, ReLU, maxpool 2 →
    /// 14×14×32; h0 1024, h1 256, h2 64 (ReLU); op 10, softmax.
    public static let mnist32CNN = ModelArchitecture(
        name: "mnist32-cnn",
        input: InputSpec(shape: [1, 32, 32], preprocessing: Preprocessing(scale: 1.0 / 255.0, offset: 0, resize: "bilinear")),
        classes: (0..<10).map(String.init),
        layers: [
            .conv2d(name: "c0", outChannels: 32, kernel: [4, 4], stride: [1, 1], padding: [0, 0, 0, 0]), .relu,
            .maxPool2d(kernel: [2, 2], stride: [2, 2]), .flatten,
            .dense(name: "h0", outFeatures: 1024), .relu,
            .dense(name: "h1", outFeatures: 256), .relu,
            .dense(name: "h2", outFeatures: 64), .relu,
            .dense(name: "op", outFeatures: 10), .softmax,
        ])

    /// Fashion-MNIST 28×28: c0, c1 conv 32×4×4 "same" (TensorFlow's padding:
    /// the odd extra pixel at the bottom and right), each ReLU, maxpool 2 and
    /// dropout .3; h0 1024 ReLU, dropout .3; op 10, softmax.
    public static let fashionCNN = ModelArchitecture(
        name: "fashion-cnn",
        input: InputSpec(shape: [1, 28, 28], preprocessing: Preprocessing(scale: 1.0 / 255.0, offset: 0, resize: "none")),
        classes: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        layers: [
            .conv2d(name: "c0", outChannels: 32, kernel: [4, 4], stride: [1, 1], padding: [1, 1, 2, 2]), .relu,
            .maxPool2d(kernel: [2, 2], stride: [2, 2]), .dropout(rate: 0.3),
            .conv2d(name: "c1", outChannels: 32, kernel: [4, 4], stride: [1, 1], padding: [1, 1, 2, 2]), .relu,
            .maxPool2d(kernel: [2, 2], stride: [2, 2]), .dropout(rate: 0.3), .flatten,
            .dense(name: "h0", outFeatures: 1024), .relu, .dropout(rate: 0.3),
            .dense(name: "op", outFeatures: 10), .softmax,
        ])
}
