import HASRuntime

/// 2-D convolution, forward and backward as GEMMs over the whole batch.
///
/// Forward: cols = im2col(x) [K × N·P], y = W[O×K]·cols + b → [O, N, OH, OW].
/// Backward: db = Σ rows of dy; dW = dy·colsᵀ (cols read through strides);
/// dcols = Wᵀ·dy; dx = col2im(dcols).
public final class TrainableConv2D: TrainableLayer {
    public let name: String
    public let outChannels: Int
    public let kernel: (h: Int, w: Int)
    public let stride: (h: Int, w: Int)
    /// [top, left, bottom, right].
    public let padding: [Int]
    public let inputShape: [Int]
    public let weight: Parameter
    public let bias: Parameter
    private var cols: [Float] = []
    private var batchCount = 0

    public init(name: String, inputShape: [Int], outChannels: Int, kernel: (Int, Int),
                stride: (Int, Int) = (1, 1), padding: [Int] = [0, 0, 0, 0], weight: [Float], bias: [Float]) {
        precondition(inputShape.count == 3 && padding.count == 4)
        self.name = name
        self.inputShape = inputShape
        self.outChannels = outChannels
        self.kernel = (kernel.0, kernel.1)
        self.stride = (stride.0, stride.1)
        self.padding = padding
        self.weight = Parameter(name: "\(name).weight", shape: [outChannels, inputShape[0], kernel.0, kernel.1], value: weight)
        self.bias = Parameter(name: "\(name).bias", shape: [outChannels], value: bias)
    }

    public var geometry: ConvGeometry {
        ConvGeometry(channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                     kernelH: kernel.h, kernelW: kernel.w, strideH: stride.h, strideW: stride.w, padding: padding)
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func outputShape(input: [Int]) -> [Int] {
        let g = geometry
        return [outChannels, g.outHeight, g.outWidth]
    }

    public var spec: LayerSpec {
        LayerSpec(type: "conv2d", name: name, weight: weight.name, bias: bias.name,
                  stride: [stride.h, stride.w], padding: padding)
    }

    public func forward(_ x: BatchTensor, context: StepContext) -> BatchTensor {
        precondition(x.imageShape == inputShape, "\(name): input \(x.imageShape), expected \(inputShape)")
        let g = geometry, n = x.count, kk = g.patchSize, np = n * g.positions, o = outChannels
        var cols = uninitializedFloats(kk * np)
        var y = BatchTensor(channels: o, count: n, height: g.outHeight, width: g.outWidth, data: uninitializedFloats(o * np))
        x.data.withUnsafeBufferPointer { xp in
            cols.withUnsafeMutableBufferPointer { cp in
                batchIm2col(g, count: n, input: xp.baseAddress!, into: cp.baseAddress!, threads: context.threads)
            }
        }
        cols.withUnsafeBufferPointer { cp in
            weight.value.withUnsafeBufferPointer { wp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    PermutedGEMM.multiply(m: o, n: np, k: kk, a: wp.baseAddress!, lda: kk,
                                          b: StridedMatrix(cp.baseAddress!, rowStride: np, colStride: 1),
                                          c: StridedMatrix(yp.baseAddress!, rowStride: np, colStride: 1),
                                          threads: context.threads)
                    addBias(bias.value, to: yp.baseAddress!, rows: o, cols: np, threads: context.threads)
                }
            }
        }
        if context.training {
            self.cols = cols
            batchCount = n
        }
        return y
    }

    public func backward(_ dy: BatchTensor, inputGradient: Bool, threads: Int) -> BatchTensor? {
        let g = geometry, n = batchCount, kk = g.patchSize, np = n * g.positions, o = outChannels
        precondition(dy.count == n && dy.channels == o && cols.count == kk * np, "\(name): backward without forward")
        dy.data.withUnsafeBufferPointer { dp in
            let d = dp.baseAddress!
            bias.gradient.withUnsafeMutableBufferPointer { rowSums(d, rows: o, cols: np, into: $0.baseAddress!) }
            cols.withUnsafeBufferPointer { cp in
                weight.gradient.withUnsafeMutableBufferPointer { gp in
                    PermutedGEMM.multiply(m: o, n: kk, k: np, a: d, lda: np,
                                          b: StridedMatrix(cp.baseAddress!, rowStride: 1, colStride: np),
                                          c: StridedMatrix(gp.baseAddress!, rowStride: kk, colStride: 1),
                                          threads: threads)
                }
            }
        }
        guard inputGradient else { return nil }
        var wt = [Float](repeating: 0, count: o * kk)
        weight.value.withUnsafeBufferPointer { wp in
            wt.withUnsafeMutableBufferPointer { transpose(wp.baseAddress!, rows: o, cols: kk, into: $0.baseAddress!) }
        }
        // cols is no longer needed: reuse its storage for dcols.
        dy.data.withUnsafeBufferPointer { dp in
            wt.withUnsafeBufferPointer { tp in
                cols.withUnsafeMutableBufferPointer { cp in
                    PermutedGEMM.multiply(m: kk, n: np, k: o, a: tp.baseAddress!, lda: o,
                                          b: StridedMatrix(dp.baseAddress!, rowStride: np, colStride: 1),
                                          c: StridedMatrix(cp.baseAddress!, rowStride: np, colStride: 1),
                                          threads: threads)
                }
            }
        }
        // col2im overwrites every element.
        var dx = BatchTensor(channels: g.channels, count: n, height: g.height, width: g.width,
                             data: uninitializedFloats(g.channels * n * g.height * g.width))
        cols.withUnsafeBufferPointer { cp in
            dx.data.withUnsafeMutableBufferPointer { xp in
                batchCol2im(g, count: n, cols: cp.baseAddress!, into: xp.baseAddress!, threads: threads)
            }
        }
        cols = []
        return dx
    }
}

/// y[r, j] += b[r] for a rows × cols matrix.
func addBias(_ b: [Float], to y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, threads: Int) {
    b.withUnsafeBufferPointer { bp in
        Parallelism.forRanges(rows, threads: rows * cols >= 1 << 16 ? threads : 1) { range in
            for r in range {
                let row = y + r * cols, v = bp[r]
                for j in 0..<cols { row[j] += v }
            }
        }
    }
}
