import HASKernels

/// 2-D convolution as im2col + the permuted GEMM.
///
/// Weights OIHW [O, C, kh, kw] seen as the O×K matrix (K = C·kh·kw); input and
/// output NCHW. Per image: out[O×P] = W · cols[K×P] + bias.
public struct Conv2D: Sendable {
    public let name: String
    public let geometry: ConvGeometry
    public let outChannels: Int
    /// Row-major O×K.
    public let weight: [Float]
    public let bias: [Float]
    /// `weight` in the kernel's panel layout, for unshuffled runs.
    let packedWeight: PackedWeights

    public init(name: String, geometry: ConvGeometry, outChannels: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == outChannels * geometry.patchSize && bias.count == outChannels)
        self.name = name
        self.geometry = geometry
        self.outChannels = outChannels
        self.weight = weight
        self.bias = bias
        packedWeight = PackedWeights(m: outChannels, k: geometry.patchSize, weights: weight)
    }

    public var gemmShape: GEMMShape {
        GEMMShape(m: outChannels, k: geometry.patchSize, columnsPerImage: geometry.positions,
                  defaultTileK: geometry.kernelH * geometry.kernelW)
    }

    public var outputShape: [Int] { [outChannels, geometry.outHeight, geometry.outWidth] }

    /// x: [N, C, H, W] → [N, O, OH, OW], optionally followed by ReLU and a max
    /// pool fused per image (the conv output of one image stays in cache
    /// instead of making five passes over the whole batch in memory).
    ///
    /// Images run in parallel when the batch is large enough; `options.afterGEMM`
    /// is then called concurrently for disjoint groups of up to
    /// `options.hookGroup` consecutive images (one event per group, its images'
    /// patch matrices and conv outputs side by side), so that a fault simulator
    /// can walk the random streams of a group's images together.
    public func forward(_ x: Tensor, options: ForwardOptions, relu: Bool = false, pool: MaxPool2D? = nil) -> Tensor {
        let g = geometry, n = x.shape[0]
        let kk = g.patchSize, p = g.positions, o = outChannels
        let inSize = g.channels * g.height * g.width
        let outShape = pool?.outputShape ?? outputShape
        let outSize = outShape.reduce(1, *)
        var out = Tensor(shape: [n] + outShape,
                         data: [Float](unsafeUninitializedCapacity: n * outSize) { _, count in count = n * outSize })
        let perm = options.permutations[name]
        if perm == nil, !options.hooks(name), relu, let pool, fusesDirectly(pool) {
            return forwardDirect(x, pool: pool, threads: options.threads)
        }
        let imageThreads = n >= options.threads ? options.threads : 1
        let gemmThreads = imageThreads == 1 ? options.threads : 1
        let hook = options.hooks(name) ? options.afterGEMM : nil
        // Images per group: each needs its patch matrix and conv output until the hook has run.
        let group = hook == nil ? 1 : max(1, options.hookGroup)
        let colsSize = kk * p, ySize = o * p
        let scratchSize = group * colsSize + (pool == nil ? 0 : group * ySize)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                weight.withUnsafeBufferPointer { wp in
                    bias.withUnsafeBufferPointer { bp in
                        withOptionalBuffer(perm) { pp in
                            let xb = xp.baseAddress!, ob = op.baseAddress!
                            // Several chunks per worker, taken as workers free up: a worker
                            // preempted on a shared machine does not hold the batch up.
                            let parts = imageThreads == 1 ? 1 : min(n, imageThreads * 4)
                            Parallelism.forEach(parts, threads: imageThreads) { part in
                                let images = (n * part / parts)..<(n * (part + 1) / parts)
                                // Per-chunk scratch: the patch matrices, and the conv outputs when
                                // pooling (else they are computed in `out`).
                                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchSize)
                                defer { scratch.deallocate() }
                                let cols = scratch, ys = scratch + group * colsSize
                                for first in stride(from: images.lowerBound, to: images.upperBound, by: group) {
                                    let count = min(group, images.upperBound - first)
                                    let y = { (j: Int) in pool == nil ? ob + (first + j) * outSize : ys + j * ySize }
                                    for j in 0..<count {
                                        im2col(g, image: xb + (first + j) * inSize, into: cols + j * colsSize)
                                        PermutedGEMM.multiply(
                                            m: o, n: p, k: kk, a: wp.baseAddress!, lda: kk, packed: packedWeight,
                                            b: StridedMatrix(UnsafePointer(cols + j * colsSize), rowStride: p, colStride: 1),
                                            c: StridedMatrix(y(j), rowStride: p, colStride: 1),
                                            permutation: pp, threads: gemmThreads)
                                    }
                                    hook?(GEMMEvent(layerName: name, shape: gemmShape, batchSize: count,
                                                    firstImageIndex: options.firstImageIndex + first,
                                                    weights: wp.baseAddress!, permutation: pp,
                                                    bRowStride: p, bColStride: 1, cRowStride: p, cColStride: 1,
                                                    input: { j in UnsafePointer(cols + j * colsSize) },
                                                    output: { j in y(j) }))
                                    for j in 0..<count {
                                        finish(y(j), into: ob + (first + j) * outSize, bias: bp.baseAddress!,
                                               relu: relu, pool: pool)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

extension Conv2D {
    /// Bias, ReLU and pool of one image's conv output `y` (O×P) into `out`;
    /// without a pool, in place (`y` is the image's output).
    @inline(__always)
    func finish(_ y: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                relu: Bool, pool: MaxPool2D?) {
        let o = outChannels, p = geometry.positions
        if relu, let pool {
            pool.poolBiasReLU(image: UnsafePointer(y), into: out, bias: bias)
            return
        }
        for c in 0..<o {
            let plane = y + c * p, b = bias[c]
            if relu {
                for j in 0..<p { let v = plane[j] + b; plane[j] = v > 0 ? v : 0 }
            } else {
                for j in 0..<p { plane[j] += b }
            }
        }
        pool?.pool(image: UnsafePointer(y), into: out, finite: relu)
    }

    /// Whether conv → ReLU → `pool` can run as one direct kernel (HASKernels
    /// conv_pool.c): 2×2 stride-2 pool, stride-1 conv at most 32 wide, supported CPU.
    func fusesDirectly(_ pool: MaxPool2D) -> Bool {
        let g = geometry, p = pool.geometry
        return p.kernelH == 2 && p.kernelW == 2 && p.strideH == 2 && p.strideW == 2
            && g.strideH == 1 && g.strideW == 1
            && has_conv_relu_pool_supported(Int64(g.channels), Int64(g.height), Int64(g.width),
                                            Int64(g.kernelH), Int64(g.kernelW), Int64(g.padTop), Int64(g.padLeft),
                                            Int64(g.padBottom), Int64(g.padRight)) != 0
    }

    /// Clean, unshuffled conv → ReLU → 2×2 max pool with no hook: the same bits
    /// as the im2col + GEMM path, without the patch matrix or the conv output
    /// in memory (neither is needed when no fault simulator looks at them).
    func forwardDirect(_ x: Tensor, pool: MaxPool2D, threads: Int) -> Tensor {
        let g = geometry, n = x.shape[0]
        let inSize = g.channels * g.height * g.width
        let outSize = pool.outputShape.reduce(1, *)
        var out = Tensor(shape: [n] + pool.outputShape,
                         data: [Float](unsafeUninitializedCapacity: n * outSize) { _, count in count = n * outSize })
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                weight.withUnsafeBufferPointer { wp in
                    bias.withUnsafeBufferPointer { bp in
                        let xb = xp.baseAddress!, ob = op.baseAddress!
                        // Several chunks per worker, as in `forward`.
                        let workers = n >= threads ? threads : 1
                        let parts = workers == 1 ? 1 : min(n, workers * 4)
                        Parallelism.forEach(parts, threads: workers) { part in
                            for i in (n * part / parts)..<(n * (part + 1) / parts) {
                                has_conv_relu_pool(Int64(g.channels), Int64(g.height), Int64(g.width),
                                                   Int64(g.kernelH), Int64(g.kernelW), Int64(g.padTop), Int64(g.padLeft),
                                                   Int64(g.padBottom), Int64(g.padRight), Int64(outChannels),
                                                   xb + i * inSize, wp.baseAddress!, bp.baseAddress!, ob + i * outSize)
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Calls `body` with a buffer over `array`, or nil when there is none.
@inline(__always)
public func withOptionalBuffer<R>(_ array: [Int32]?, _ body: (UnsafeBufferPointer<Int32>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0) }
}
