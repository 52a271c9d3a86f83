import HASRuntime

/// A network being trained: the architecture's layers with their parameters.
public final class TrainableNetwork {
    public let architecture: ModelArchitecture
    public let layers: [TrainableLayer]

    /// Builds the layers with He-uniform weights and zero biases drawn from `seed`.
    public convenience init(architecture: ModelArchitecture, seed: UInt64) {
        self.init(architecture: architecture) { name, count, fanIn in
            HeUniform.weights(count: count, fanIn: fanIn, seed: seed, layer: name)
        }
    }

    /// Builds the layers with the weights `initialWeights(name, count, fanIn)` gives.
    public init(architecture: ModelArchitecture, initialWeights: (String, Int, Int) -> [Float]) {
        self.architecture = architecture
        var shape = architecture.input.shape
        var layers: [TrainableLayer] = []
        var dropouts: UInt64 = 0
        for layer in architecture.layers {
            let built: TrainableLayer
            switch layer {
            case .conv2d(let name, let out, let kernel, let stride, let padding):
                let fanIn = shape[0] * kernel[0] * kernel[1]
                built = TrainableConv2D(name: name, inputShape: shape, outChannels: out, kernel: (kernel[0], kernel[1]),
                                        stride: (stride[0], stride[1]), padding: padding,
                                        weight: initialWeights(name, out * fanIn, fanIn),
                                        bias: [Float](repeating: 0, count: out))
            case .dense(let name, let out):
                precondition(shape[1] == 1 && shape[2] == 1, "dense layer \(name) needs a flat input; add .flatten")
                built = TrainableDense(name: name, inFeatures: shape[0], outFeatures: out,
                                       weight: initialWeights(name, out * shape[0], shape[0]),
                                       bias: [Float](repeating: 0, count: out))
            case .relu: built = TrainableReLU()
            case .maxPool2d(let kernel, let stride):
                built = TrainableMaxPool2D(inputShape: shape, kernel: (kernel[0], kernel[1]), stride: (stride[0], stride[1]))
            case .flatten: built = TrainableFlatten()
            case .dropout(let rate):
                built = TrainableDropout(rate: rate, index: dropouts)
                dropouts += 1
            case .softmax: continue
            }
            shape = built.outputShape(input: shape)
            layers.append(built)
        }
        precondition(shape == [architecture.classes.count, 1, 1],
                     "\(architecture.name) outputs \(shape), expected \(architecture.classes.count) classes")
        self.layers = layers
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    /// Logits [classes, N] of a batch x [1, N, H, W]; in training mode every
    /// layer keeps what `backward` needs.
    public func forward(_ x: BatchTensor, context: StepContext) -> BatchTensor {
        layers.reduce(x) { $1.forward($0, context: context) }
    }

    /// Back-propagates dL/dlogits through every layer, filling the parameters'
    /// gradients. The first layer's input gradient is not computed.
    public func backward(_ dLogits: BatchTensor, threads: Int) {
        var g = dLogits
        for (index, layer) in layers.enumerated().reversed() {
            guard let dx = layer.backward(g, inputGradient: index > 0, threads: threads) else { break }
            g = dx
        }
    }

    /// The manifest's layer list: the trained layers plus the final softmax.
    public var layerSpecs: [LayerSpec] {
        var specs = layers.map(\.spec)
        if architecture.layers.last == .softmax { specs.append(LayerSpec(type: "softmax")) }
        return specs
    }

    /// Tensors by bundle name, in the bundle's layouts.
    public var tensors: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.tensor) })
    }

    public func manifest(provenance: Provenance?) -> Manifest {
        Manifest(name: architecture.name, input: architecture.input, classes: architecture.classes,
                 layers: layerSpecs, provenance: provenance)
    }

    public func bundle(provenance: Provenance?) -> ModelBundle {
        ModelBundle(manifest: manifest(provenance: provenance), tensors: tensors)
    }

    /// The runtime's network over the current weights (for evaluation, exactly as has-run runs it).
    public func runtimeNetwork() throws -> Network {
        try Network(manifest: manifest(provenance: nil), tensors: tensors, file: architecture.name)
    }

    /// Copies of every parameter's values (to keep the best epoch's weights).
    public func snapshot() -> [[Float]] { parameters.map(\.value) }

    public func restore(_ values: [[Float]]) {
        for (p, v) in zip(parameters, values) {
            precondition(p.count == v.count)
            p.value = v
        }
    }
}
