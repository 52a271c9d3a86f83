import HASKernels

/// Fully connected layer y = W·x + b with W [out, in] (PyTorch/ONNX layout).
///
/// A batch X [N, in] is the GEMM's B = Xᵀ (strides, no copy); the product is
/// written straight into Y [N, out] through C's strides.
public struct Dense: Sendable {
    public let name: String
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: [Float]
    public let bias: [Float]
    /// `weight` in the kernel's panel layout, for unshuffled runs.
    let packedWeight: PackedWeights

    public init(name: String, inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures)
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = weight
        self.bias = bias
        packedWeight = PackedWeights(m: outFeatures, k: inFeatures, weights: weight)
    }

    public var gemmShape: GEMMShape {
        GEMMShape(m: outFeatures, k: inFeatures, columnsPerImage: 1, defaultTileK: 32)
    }

    /// x: [N, in] → [N, out], with a following ReLU fused when `relu`.
    ///
    /// The GEMM writes Yᵀ [out, N] row-major (the micro-kernel's vector stores
    /// run along N), which is then transposed into Y with the bias added:
    /// storing Y directly would scatter every element with a 4 kB stride.
    public func forward(_ x: Tensor, options: ForwardOptions, relu: Bool = false) -> Tensor {
        let n = x.shape[0], k = inFeatures, m = outFeatures
        var yt = [Float](unsafeUninitializedCapacity: m * n) { _, count in count = m * n }
        var out = Tensor(shape: [n, m], data: [Float](unsafeUninitializedCapacity: m * n) { _, count in count = m * n })
        x.data.withUnsafeBufferPointer { xp in
            yt.withUnsafeMutableBufferPointer { tp in
                weight.withUnsafeBufferPointer { wp in
                    withOptionalBuffer(options.permutations[name]) { pp in
                        let xb = xp.baseAddress!, tb = tp.baseAddress!
                        PermutedGEMM.multiply(m: m, n: n, k: k, a: wp.baseAddress!, lda: k, packed: packedWeight,
                                              b: StridedMatrix(xb, rowStride: 1, colStride: k),
                                              c: StridedMatrix(tb, rowStride: n, colStride: 1),
                                              permutation: pp, threads: options.threads)
                        if let hook = options.afterGEMM {
                            hook(GEMMEvent(layerName: name, shape: gemmShape, batchSize: n,
                                           firstImageIndex: options.firstImageIndex,
                                           weights: wp.baseAddress!, permutation: pp,
                                           bRowStride: 1, bColStride: k, cRowStride: n, cColStride: 1,
                                           input: { xb + $0 * k }, output: { tb + $0 }))
                        }
                    }
                }
            }
        }
        out.data.withUnsafeMutableBufferPointer { op in
            yt.withUnsafeBufferPointer { tp in
                bias.withUnsafeBufferPointer { bp in
                    // Same arithmetic as `addBias`, in 8×8 register-transposed blocks (C);
                    // split over the batch when it is large (h0: 1 MB at batch 256).
                    let threads = m * n >= 64 * 1024 ? options.threads : 1
                    Parallelism.forRanges(n, granule: 8, threads: threads) { rows in
                        has_transpose_add_bias(Int64(m), Int64(n), Int64(rows.lowerBound), Int64(rows.upperBound),
                                               tp.baseAddress!, bp.baseAddress!, relu ? 1 : 0, op.baseAddress!)
                    }
                }
            }
        }
        return out
    }

    /// Adds the bias (and applies ReLU when `relu`) in place to `count` rows of
    /// outputs stored row-major [count, out]: the same arithmetic as `forward`'s
    /// epilogue, for callers that produce the GEMM output themselves.
    public func addBias(toRows y: UnsafeMutablePointer<Float>, count: Int, relu: Bool) {
        let m = outFeatures
        bias.withUnsafeBufferPointer { bp in
            for i in 0..<count {
                let row = y + i * m
                for j in 0..<m {
                    let v = row[j] + bp[j]
                    row[j] = relu ? (v > 0 ? v : 0) : v
                }
            }
        }
    }
}
