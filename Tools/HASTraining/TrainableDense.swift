import HASRuntime

/// Fully connected layer over feature-major batches x [in, N] → y [out, N].
///
/// Forward: Yᵀ = W·Xᵀ (the runtime's own orientation). Backward:
/// db = Σ rows of dYᵀ; dW = dYᵀ·X (X read through strides); dXᵀ = (dY·W)ᵀ,
/// computed as dY[N×out]·W and stored transposed through C's strides, so W is
/// never copied.
public final class TrainableDense: TrainableLayer {
    public let name: String
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter
    private var input: [Float] = []
    private var batchCount = 0

    public init(name: String, inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float]) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = Parameter(name: "\(name).weight", shape: [outFeatures, inFeatures], value: weight)
        self.bias = Parameter(name: "\(name).bias", shape: [outFeatures], value: bias)
    }

    public var parameters: [Parameter] { [weight, bias] }
    public func outputShape(input: [Int]) -> [Int] { [outFeatures, 1, 1] }
    public var spec: LayerSpec { LayerSpec(type: "dense", name: name, weight: weight.name, bias: bias.name) }

    public func forward(_ x: BatchTensor, context: StepContext) -> BatchTensor {
        precondition(x.channels == inFeatures && x.planeSize == 1, "\(name): input \(x.imageShape), expected [\(inFeatures), 1, 1]")
        let n = x.count
        var y = BatchTensor(channels: outFeatures, count: n, data: uninitializedFloats(outFeatures * n))
        x.data.withUnsafeBufferPointer { xp in
            weight.value.withUnsafeBufferPointer { wp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    PermutedGEMM.multiply(m: outFeatures, n: n, k: inFeatures, a: wp.baseAddress!, lda: inFeatures,
                                          b: StridedMatrix(xp.baseAddress!, rowStride: n, colStride: 1),
                                          c: StridedMatrix(yp.baseAddress!, rowStride: n, colStride: 1),
                                          threads: context.threads)
                    addBias(bias.value, to: yp.baseAddress!, rows: outFeatures, cols: n, threads: context.threads)
                }
            }
        }
        if context.training {
            input = x.data
            batchCount = n
        }
        return y
    }

    public func backward(_ dy: BatchTensor, inputGradient: Bool, threads: Int) -> BatchTensor? {
        let n = batchCount, m = outFeatures, k = inFeatures
        precondition(dy.count == n && dy.channels == m && input.count == k * n, "\(name): backward without forward")
        var dx: BatchTensor?
        dy.data.withUnsafeBufferPointer { dp in
            let d = dp.baseAddress!
            bias.gradient.withUnsafeMutableBufferPointer { rowSums(d, rows: m, cols: n, into: $0.baseAddress!) }
            input.withUnsafeBufferPointer { xp in
                weight.gradient.withUnsafeMutableBufferPointer { gp in
                    PermutedGEMM.multiply(m: m, n: k, k: n, a: d, lda: n,
                                          b: StridedMatrix(xp.baseAddress!, rowStride: 1, colStride: n),
                                          c: StridedMatrix(gp.baseAddress!, rowStride: k, colStride: 1),
                                          threads: threads)
                }
            }
            guard inputGradient else { return }
            var dyt = uninitializedFloats(m * n)
            dyt.withUnsafeMutableBufferPointer { transpose(d, rows: m, cols: n, into: $0.baseAddress!) }
            var g = BatchTensor(channels: k, count: n, data: uninitializedFloats(k * n))
            dyt.withUnsafeBufferPointer { tp in
                weight.value.withUnsafeBufferPointer { wp in
                    g.data.withUnsafeMutableBufferPointer { gp in
                        PermutedGEMM.multiply(m: n, n: k, k: m, a: tp.baseAddress!, lda: m,
                                              b: StridedMatrix(wp.baseAddress!, rowStride: k, colStride: 1),
                                              c: StridedMatrix(gp.baseAddress!, rowStride: 1, colStride: n),
                                              threads: threads)
                    }
                }
            }
            dx = g
        }
        input = []
        return dx
    }
}
