import HASKernels

/// Geometry of a 2-D convolution or pooling window over an NCHW input.
public struct ConvGeometry: Equatable, Sendable {
    public var channels: Int, height: Int, width: Int
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    /// Zero padding [top, left, bottom, right] (ONNX `pads` order).
    public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    public init(channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int,
                strideH: Int = 1, strideW: Int = 1, padding: [Int] = [0, 0, 0, 0]) {
        precondition(padding.count == 4)
        self.channels = channels; self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW
        self.strideH = strideH; self.strideW = strideW
        self.padTop = padding[0]; self.padLeft = padding[1]; self.padBottom = padding[2]; self.padRight = padding[3]
    }

    public var outHeight: Int { (height + padTop + padBottom - kernelH) / strideH + 1 }
    public var outWidth: Int { (width + padLeft + padRight - kernelW) / strideW + 1 }
    /// Output positions per image: the GEMM's N for one image.
    public var positions: Int { outHeight * outWidth }
    /// Rows of the patch matrix, (channel, kh, kw) in OIHW order: the GEMM's K.
    public var patchSize: Int { channels * kernelH * kernelW }
}

/// Unfolds one CHW image into the K×P patch matrix (K = C·kh·kw in OIHW order,
/// P = output positions, row-major), so that a convolution is W[O×K] · cols[K×P].
///
/// - Complexity: O(K·P).
///
/// In C (HASKernels): the short runs of a small image (14 floats per row for
/// fashion-cnn's c1) made per-run memmove/memset calls cost a quarter of inference.
public func im2col(_ g: ConvGeometry, image: UnsafePointer<Float>, into cols: UnsafeMutablePointer<Float>) {
    has_im2col(Int64(g.channels), Int64(g.height), Int64(g.width), Int64(g.kernelH), Int64(g.kernelW),
               Int64(g.strideH), Int64(g.strideW), Int64(g.padTop), Int64(g.padLeft),
               Int64(g.outHeight), Int64(g.outWidth), image, cols)
}

/// Adjoint of `im2col`: accumulates a K×P patch-gradient matrix back into a CHW
/// image gradient (overlapping windows add up). Used by the trainer.
public func col2im(_ g: ConvGeometry, cols: UnsafePointer<Float>, addingInto image: UnsafeMutablePointer<Float>) {
    let oh = g.outHeight, ow = g.outWidth, p = oh * ow
    var row = 0
    for c in 0..<g.channels {
        let plane = image + c * g.height * g.width
        for i in 0..<g.kernelH {
            for j in 0..<g.kernelW {
                let src = cols + row * p
                for oy in 0..<oh {
                    let y = oy * g.strideH + i - g.padTop
                    if y < 0 || y >= g.height { continue }
                    for ox in 0..<ow {
                        let x = ox * g.strideW + j - g.padLeft
                        if x >= 0 && x < g.width { plane[y * g.width + x] += src[oy * ow + ox] }
                    }
                }
                row += 1
            }
        }
    }
}
