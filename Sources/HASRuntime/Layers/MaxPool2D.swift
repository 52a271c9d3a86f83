import HASKernels

/// Max pooling over NCHW, no padding, floor mode (29 → 14 for a 2×2 window).
///
/// NaN propagates (any NaN in a window gives NaN), as IEEE comparison-based max
/// would not: a faulty NaN must not silently vanish.
public struct MaxPool2D: Sendable {
    public let geometry: ConvGeometry

    public init(geometry: ConvGeometry) { self.geometry = geometry }

    public var outputShape: [Int] { [geometry.channels, geometry.outHeight, geometry.outWidth] }

    /// max(a, b) that returns NaN when either is NaN, branch-free.
    @inline(__always)
    func nanPropagatingMax(_ a: Float, _ b: Float) -> Float {
        let m = a > b ? a : b
        return (a.isNaN || b.isNaN) ? a + b : m
    }

    public func forward(_ x: Tensor, threads: Int = Parallelism.threads) -> Tensor {
        let g = geometry, n = x.shape[0]
        let size = g.channels * g.outHeight * g.outWidth
        var out = Tensor(shape: [n] + outputShape,
                         data: [Float](unsafeUninitializedCapacity: n * size) { _, count in count = n * size })
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let xb = xp.baseAddress!, ob = op.baseAddress!
                Parallelism.forRanges(n, threads: threads) { images in
                    for i in images { pool(image: xb + i * g.channels * g.height * g.width, into: ob + i * size) }
                }
            }
        }
        return out
    }

    /// relu(pool(x) + bias[c]) of a raw (pre-bias) conv output: equal, bit for
    /// bit, to pooling relu(x + bias[c]), because adding a constant and ReLU are
    /// monotone (rounding included). NaN is skipped in the max: ReLU maps a NaN
    /// to 0, which never beats the max of the rest after ReLU (all ≥ 0), and an
    /// all-NaN window gives relu(-inf) = 0. Pools first, so the bias and ReLU
    /// touch a quarter of the values.
    public func poolBiasReLU(image src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                             bias: UnsafePointer<Float>) {
        let g = geometry, oh = g.outHeight, ow = g.outWidth
        if g.kernelH == 2 && g.kernelW == 2 && g.strideH == 2 && g.strideW == 2 {
            // The same comparisons, vectorised (HASKernels/pool.c).
            has_pool2x2_bias_relu(Int64(g.channels), Int64(g.height), Int64(g.width), Int64(oh), Int64(ow),
                                  src, bias, dst)
            return
        }
        @inline(__always) func larger(_ x: Float, _ m: Float) -> Float { x > m ? x : m }
        @inline(__always) func relu(_ v: Float) -> Float { v > 0 ? v : 0 }
        for c in 0..<g.channels {
            let plane = src + c * g.height * g.width, out = dst + c * oh * ow, b = bias[c]
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var m = -Float.infinity
                    for i in 0..<g.kernelH {
                        let row = plane + (oy * g.strideH + i) * g.width + ox * g.strideW
                        for j in 0..<g.kernelW { m = larger(row[j], m) }
                    }
                    out[oy * ow + ox] = relu(m + b)
                }
            }
        }
    }

    /// Pools one CHW image. `finite` promises the input has no NaN (e.g. it
    /// just went through ReLU, which maps NaN to 0), allowing the fast path.
    public func pool(image src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, finite: Bool = false) {
        let g = geometry, oh = g.outHeight, ow = g.outWidth
        if finite && g.kernelH == 2 && g.kernelW == 2 && g.strideH == 2 && g.strideW == 2 {
            for c in 0..<g.channels {
                let plane = src + c * g.height * g.width, out = dst + c * oh * ow
                for oy in 0..<oh {
                    let r0 = plane + 2 * oy * g.width, r1 = r0 + g.width, o = out + oy * ow
                    for ox in 0..<ow {
                        let a = r0[2 * ox] > r0[2 * ox + 1] ? r0[2 * ox] : r0[2 * ox + 1]
                        let b = r1[2 * ox] > r1[2 * ox + 1] ? r1[2 * ox] : r1[2 * ox + 1]
                        o[ox] = a > b ? a : b
                    }
                }
            }
            return
        }
        for c in 0..<g.channels {
            let plane = src + c * g.height * g.width
            let out = dst + c * oh * ow
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var best = -Float.infinity
                    for i in 0..<g.kernelH {
                        let row = plane + (oy * g.strideH + i) * g.width + ox * g.strideW
                        for j in 0..<g.kernelW { best = nanPropagatingMax(best, row[j]) }
                    }
                    out[oy * ow + ox] = best
                }
            }
        }
    }
}
