import HASRuntime

/// The output columns ox whose input column ox·stride + kj − pad lies inside
/// 0..<width; the others read padding.
@inline(__always)
func validColumns(outWidth ow: Int, width w: Int, stride s: Int, offset kj: Int, pad: Int) -> Range<Int> {
    // xx = ox·s + kj − pad ≥ 0  ⇔  ox ≥ ⌈(pad − kj)/s⌉;  xx < w  ⇔  ox ≤ ⌊(w − 1 + pad − kj)/s⌋.
    let lower = max(0, (pad - kj + s - 1) >= 0 ? (pad - kj + s - 1) / s : 0)
    let upperValue = w - 1 + pad - kj
    let upper = upperValue < 0 ? 0 : min(ow, upperValue / s + 1)
    return lower < upper ? lower..<upper : 0..<0
}

/// im2col over a channel-major batch: x [C, N, H, W] → cols [K × N·P] with
/// K = C·kh·kw in OIHW order and column i·P + p = output position p of image i,
/// so that one GEMM W[O×K]·cols gives the whole batch's output [O, N, OH, OW].
///
/// Rows run in parallel; each row is written by one thread.
/// - Complexity: O(K·N·P).
func batchIm2col(_ g: ConvGeometry, count n: Int, input x: UnsafePointer<Float>,
                 into cols: UnsafeMutablePointer<Float>, threads: Int) {
    let oh = g.outHeight, ow = g.outWidth, p = oh * ow, np = n * p, hw = g.height * g.width
    let window = g.kernelH * g.kernelW
    Parallelism.forRanges(g.patchSize, threads: threads) { rows in
        for r in rows {
            let c = r / window, ki = r % window / g.kernelW, kj = r % g.kernelW
            let valid = validColumns(outWidth: ow, width: g.width, stride: g.strideW, offset: kj, pad: g.padLeft)
            let dst = cols + r * np
            for i in 0..<n {
                let plane = x + (c * n + i) * hw
                for oy in 0..<oh {
                    let y = oy * g.strideH + ki - g.padTop
                    let out = dst + i * p + oy * ow
                    if y < 0 || y >= g.height || valid.isEmpty {
                        out.update(repeating: 0, count: ow)
                        continue
                    }
                    out.update(repeating: 0, count: valid.lowerBound)
                    (out + valid.upperBound).update(repeating: 0, count: ow - valid.upperBound)
                    let src = plane + y * g.width + kj - g.padLeft
                    if g.strideW == 1 {
                        (out + valid.lowerBound).update(from: src + valid.lowerBound, count: valid.count)
                    } else {
                        for ox in valid { out[ox] = src[ox * g.strideW] }
                    }
                }
            }
        }
    }
}

/// Adjoint of `batchIm2col`: dx [C, N, H, W] = Σ over patch rows of dcols,
/// overwriting dx. Channels run in parallel (a channel's rows all land in its
/// own planes), rows of one channel in a fixed order: the sum does not depend
/// on the thread count.
func batchCol2im(_ g: ConvGeometry, count n: Int, cols: UnsafePointer<Float>,
                 into dx: UnsafeMutablePointer<Float>, threads: Int) {
    let oh = g.outHeight, ow = g.outWidth, p = oh * ow, np = n * p, hw = g.height * g.width
    Parallelism.forRanges(g.channels, threads: threads) { channels in
        for c in channels {
            (dx + c * n * hw).update(repeating: 0, count: n * hw)
            for ki in 0..<g.kernelH {
                for kj in 0..<g.kernelW {
                    let r = (c * g.kernelH + ki) * g.kernelW + kj
                    let valid = validColumns(outWidth: ow, width: g.width, stride: g.strideW, offset: kj, pad: g.padLeft)
                    if valid.isEmpty { continue }
                    let src = cols + r * np
                    for i in 0..<n {
                        let plane = dx + (c * n + i) * hw
                        for oy in 0..<oh {
                            let y = oy * g.strideH + ki - g.padTop
                            if y < 0 || y >= g.height { continue }
                            let row = plane + y * g.width + kj - g.padLeft, grad = src + i * p + oy * ow
                            if g.strideW == 1 {
                                for ox in valid { row[ox] += grad[ox] }
                            } else {
                                for ox in valid { row[ox * g.strideW] += grad[ox] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// out[j × i] = m[i × j]ᵀ for a row-major rows × cols matrix.
func transpose(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
    let block = 32
    for i0 in stride(from: 0, to: rows, by: block) {
        for j0 in stride(from: 0, to: cols, by: block) {
            for i in i0..<min(rows, i0 + block) {
                for j in j0..<min(cols, j0 + block) { out[j * rows + i] = m[i * cols + j] }
            }
        }
    }
}

/// Σ of each row of a rows × cols matrix, left to right (a fixed order).
func rowSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        var s: Float = 0
        let row = m + r * cols
        for j in 0..<cols { s += row[j] }
        out[r] = s
    }
}

/// An array of `count` floats that the caller overwrites completely.
@inline(__always)
func uninitializedFloats(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}
