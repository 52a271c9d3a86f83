/// A feed-forward network ready to run: the manifest's layer list with weights
/// bound and every shape resolved, so a forward pass does no validation.
public struct Network: Sendable {
    public enum Layer: Sendable {
        case conv2d(Conv2D)
        case dense(Dense)
        case maxPool(MaxPool2D)
        case relu, flatten, dropout, softmax
    }

    public let name: String
    /// Shape of one input, CHW.
    public let inputShape: [Int]
    public let classes: [String]
    public let layers: [Layer]

    /// Weighted layers (conv2d, dense) by name, in order: the layers a plan can shuffle.
    public var weightedLayers: [(name: String, shape: GEMMShape)] {
        layers.compactMap { layer in
            switch layer {
            case .conv2d(let c): return (c.name, c.gemmShape)
            case .dense(let d): return (d.name, d.gemmShape)
            default: return nil
            }
        }
    }

    /// Binds the manifest's layers to tensors, resolving and checking every
    /// shape from the input through each layer to one score per class. This is
    /// the one place shapes are chained; `ModelBundle` validates through it.
    /// - Throws: `InputError(file:)` naming the layer and the mismatch.
    public init(manifest: Manifest, tensors: [String: Tensor], file: String) throws {
        func fail(_ problem: String) -> InputError { InputError(file: file, problem) }
        /// A referenced tensor, present and of `rank`.
        func tensor(_ key: String?, of label: String, role: String, rank: Int, layout: String) throws -> Tensor {
            guard let key else { throw fail("\(label): no \(role) tensor named") }
            guard let t = tensors[key] else {
                throw fail("\(label): tensor '\(key)' is missing (no entry \(key)\(ModelBundle.tensorSuffix))")
            }
            guard t.rank == rank else { throw fail("\(label): '\(key)' is \(t.shape) but must be rank \(rank) \(layout)") }
            return t
        }
        func bias(_ key: String?, of label: String, outputs: Int) throws -> Tensor {
            let b = try tensor(key, of: label, role: "bias", rank: 1, layout: "[out]")
            guard b.shape[0] == outputs else { throw fail("\(label): bias is \(b.shape) but the weight has \(outputs) outputs") }
            return b
        }
        guard manifest.input.shape.count == 3, manifest.input.shape.allSatisfy({ $0 > 0 }) else {
            throw fail("input shape \(manifest.input.shape) is not a positive [C, H, W]")
        }
        var shape = manifest.input.shape  // current per-image shape
        var built: [Layer] = []
        var names = Set<String>()
        for (index, spec) in manifest.layers.enumerated() {
            let label = spec.label(index: index)
            if ["conv2d", "dense"].contains(spec.type) {
                guard let name = spec.name, names.insert(name).inserted else {
                    throw fail("\(label): \(spec.type) needs a unique name")
                }
            }
            switch spec.type {
            case "conv2d":
                guard shape.count == 3 else { throw fail("\(label): conv2d needs a [C, H, W] input but its input is flat") }
                let w = try tensor(spec.weight, of: label, role: "weight", rank: 4, layout: "[O, I, kh, kw]")
                guard w.shape.allSatisfy({ $0 > 0 }) else { throw fail("\(label): weight \(w.shape) has an empty dimension") }
                guard w.shape[1] == shape[0] else {
                    throw fail("\(label): weight is \(w.shape) but its input has \(shape[0]) channels")
                }
                let b = try bias(spec.bias, of: label, outputs: w.shape[0])
                let stride = spec.stride ?? [1, 1], pad = spec.padding ?? [0, 0, 0, 0]
                guard stride.count == 2, stride.allSatisfy({ $0 > 0 }) else { throw fail("\(label): bad stride \(stride)") }
                guard pad.count == 4, pad.allSatisfy({ $0 >= 0 && $0 < 1 << 16 }) else {
                    throw fail("\(label): bad padding \(pad), expected [top, left, bottom, right]")
                }
                let paddedH = shape[1] + pad[0] + pad[2], paddedW = shape[2] + pad[1] + pad[3]
                guard w.shape[2] <= paddedH, w.shape[3] <= paddedW else {
                    throw fail("\(label): kernel \(w.shape[2])×\(w.shape[3]) is larger than its padded input \(paddedH)×\(paddedW)")
                }
                let g = ConvGeometry(channels: shape[0], height: shape[1], width: shape[2],
                                     kernelH: w.shape[2], kernelW: w.shape[3],
                                     strideH: stride[0], strideW: stride[1], padding: pad)
                let conv = Conv2D(name: spec.name!, geometry: g, outChannels: w.shape[0], weight: w.data, bias: b.data)
                shape = conv.outputShape
                built.append(.conv2d(conv))
            case "dense":
                guard shape.count == 1 else { throw fail("\(label): dense needs a flat input; add a flatten layer before it") }
                let w = try tensor(spec.weight, of: label, role: "weight", rank: 2, layout: "[out, in]")
                guard w.shape.allSatisfy({ $0 > 0 }) else { throw fail("\(label): weight \(w.shape) has an empty dimension") }
                guard w.shape[1] == shape[0] else {
                    throw fail("\(label): weight is \(w.shape) but its input has \(shape[0]) features")
                }
                let b = try bias(spec.bias, of: label, outputs: w.shape[0])
                built.append(.dense(Dense(name: spec.name!, inFeatures: w.shape[1], outFeatures: w.shape[0],
                                          weight: w.data, bias: b.data)))
                shape = [w.shape[0]]
            case "maxpool2d":
                guard shape.count == 3 else { throw fail("\(label): maxpool2d needs a [C, H, W] input but its input is flat") }
                let kernel = spec.kernel ?? [2, 2], stride = spec.stride ?? kernel
                guard kernel.count == 2, stride.count == 2, (kernel + stride).allSatisfy({ $0 > 0 }) else {
                    throw fail("\(label): bad maxpool kernel \(kernel) / stride \(stride)")
                }
                guard kernel[0] <= shape[1], kernel[1] <= shape[2] else {
                    throw fail("\(label): kernel \(kernel[0])×\(kernel[1]) is larger than its input \(shape[1])×\(shape[2])")
                }
                let pool = MaxPool2D(geometry: ConvGeometry(channels: shape[0], height: shape[1], width: shape[2],
                                                            kernelH: kernel[0], kernelW: kernel[1],
                                                            strideH: stride[0], strideW: stride[1]))
                shape = pool.outputShape
                built.append(.maxPool(pool))
            case "flatten":
                shape = [shape.saturatingProduct]
                built.append(.flatten)
            case "relu": built.append(.relu)
            case "dropout": built.append(.dropout)
            case "softmax": built.append(.softmax)
            default:
                throw fail("\(label): unknown layer type '\(spec.type)'")
            }
            guard shape.saturatingProduct <= NPYArray.maxElements else {
                throw fail("\(label): output has over \(NPYArray.maxElements) elements")
            }
        }
        guard shape == [manifest.classes.count] else {
            throw fail("the network outputs \(shape.saturatingProduct) values but the manifest lists \(manifest.classes.count) classes")
        }
        self.name = manifest.name
        self.inputShape = manifest.input.shape
        self.classes = manifest.classes
        self.layers = built
    }

    /// Runs a batch x [N, C, H, W] and returns the scores [N, classes] before
    /// any final softmax (predictions are argmax of these; softmax is monotone).
    public func logits(_ x: Tensor, options: ForwardOptions = ForwardOptions()) -> Tensor {
        precondition(Array(x.shape.dropFirst()) == inputShape, "input \(x.shape) does not match \(inputShape)")
        return run(x, layers: 0..<layers.count, options: options)
    }

    /// Index in `layers` of the weighted layer called `name`.
    public func layerIndex(named name: String) -> Int? {
        layers.firstIndex { layer in
            switch layer {
            case .conv2d(let c): return c.name == name
            case .dense(let d): return d.name == name
            default: return false
            }
        }
    }

    /// Runs only `layers[range]` on `x` (the activations entering `range.lowerBound`),
    /// so callers can cache the clean activations in front of a faulty layer.
    /// A final softmax is skipped (the result are scores).
    public func run(_ x: Tensor, layers range: Range<Int>, options: ForwardOptions = ForwardOptions()) -> Tensor {
        var h = x
        var index = range.lowerBound
        let end = range.upperBound
        while index < end {
            let layer = layers[index]
            defer { index += 1 }
            switch layer {
            case .conv2d(let c):
                // Fuse a following ReLU and max pool into the per-image conv loop.
                var relu = false, pool: MaxPool2D?
                if index + 1 < end, case .relu = layers[index + 1] {
                    relu = true
                    index += 1
                    if index + 1 < end, case .maxPool(let p) = layers[index + 1] {
                        pool = p
                        index += 1
                    }
                }
                h = c.forward(h, options: options, relu: relu, pool: pool)
            case .dense(let d):
                var relu = false
                if index + 1 < end, case .relu = layers[index + 1] {
                    relu = true
                    index += 1
                }
                h = d.forward(h, options: options, relu: relu)
            case .maxPool(let p): h = p.forward(h, threads: options.threads)
            case .relu: Activations.relu(&h)
            case .flatten: h = h.reshaped([h.shape[0], h.count / max(1, h.shape[0])])
            case .dropout: break  // inference: identity
            case .softmax:
                if index == layers.count - 1 { continue }  // final softmax: scores stay logits
                Activations.softmax(&h)
            }
        }
        return h
    }

    /// Class probabilities [N, classes].
    public func probabilities(_ x: Tensor, options: ForwardOptions = ForwardOptions()) -> Tensor {
        var z = logits(x, options: options)
        if case .softmax = layers.last { Activations.softmax(&z) }
        return z
    }

    /// Predicted class per image (-1 when every score is NaN).
    public func predict(_ x: Tensor, options: ForwardOptions = ForwardOptions()) -> [Int] {
        Activations.argmax(logits(x, options: options))
    }
}
