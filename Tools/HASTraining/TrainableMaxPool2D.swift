import HASRuntime

/// Max pooling (no padding, floor mode) over channel-major batches.
///
/// Forward remembers, per output, which input won; on ties the first in
/// row-major window order wins (the subgradient the runtime's max also picks).
/// Backward routes each output's gradient to that input alone.
public final class TrainableMaxPool2D: TrainableLayer {
    public let kernel: (h: Int, w: Int)
    public let stride: (h: Int, w: Int)
    public let inputShape: [Int]
    private var winners: [Int32] = []
    private var batchCount = 0

    public init(inputShape: [Int], kernel: (Int, Int) = (2, 2), stride: (Int, Int)? = nil) {
        precondition(inputShape.count == 3)
        self.inputShape = inputShape
        self.kernel = (kernel.0, kernel.1)
        self.stride = stride.map { ($0.0, $0.1) } ?? (kernel.0, kernel.1)
    }

    var outHeight: Int { (inputShape[1] - kernel.h) / stride.h + 1 }
    var outWidth: Int { (inputShape[2] - kernel.w) / stride.w + 1 }

    public var parameters: [Parameter] { [] }
    public func outputShape(input: [Int]) -> [Int] { [inputShape[0], outHeight, outWidth] }
    public var spec: LayerSpec {
        LayerSpec(type: "maxpool2d", stride: [stride.h, stride.w], kernel: [kernel.h, kernel.w])
    }

    public func forward(_ x: BatchTensor, context: StepContext) -> BatchTensor {
        precondition(x.imageShape == inputShape, "maxpool: input \(x.imageShape), expected \(inputShape)")
        let (h, w, oh, ow) = (x.height, x.width, outHeight, outWidth)
        let planes = x.channels * x.count
        var y = BatchTensor(zeros: x.channels, count: x.count, height: oh, width: ow)
        var win = [Int32](repeating: 0, count: planes * oh * ow)
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeMutableBufferPointer { yp in
                win.withUnsafeMutableBufferPointer { wp in
                    let xb = xp.baseAddress!, yb = yp.baseAddress!, wb = wp.baseAddress!
                    Parallelism.forRanges(planes, threads: context.threads) { range in
                        for plane in range {
                            let src = xb + plane * h * w, dst = yb + plane * oh * ow, arg = wb + plane * oh * ow
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    var best = -Float.infinity, at = (oy * stride.h) * w + ox * stride.w
                                    for i in 0..<kernel.h {
                                        let row = (oy * stride.h + i) * w + ox * stride.w
                                        for j in 0..<kernel.w where src[row + j] > best {
                                            best = src[row + j]
                                            at = row + j
                                        }
                                    }
                                    dst[oy * ow + ox] = best
                                    arg[oy * ow + ox] = Int32(at)
                                }
                            }
                        }
                    }
                }
            }
        }
        if context.training {
            winners = win
            batchCount = x.count
        }
        return y
    }

    public func backward(_ dy: BatchTensor, inputGradient: Bool, threads: Int) -> BatchTensor? {
        guard inputGradient else { return nil }
        let (h, w, oh, ow) = (inputShape[1], inputShape[2], outHeight, outWidth)
        let planes = inputShape[0] * batchCount
        precondition(dy.count == batchCount && winners.count == planes * oh * ow, "maxpool: backward without forward")
        var dx = BatchTensor(zeros: inputShape[0], count: batchCount, height: h, width: w)
        dy.data.withUnsafeBufferPointer { dp in
            dx.data.withUnsafeMutableBufferPointer { xp in
                winners.withUnsafeBufferPointer { wp in
                    let db = dp.baseAddress!, xb = xp.baseAddress!, wb = wp.baseAddress!
                    Parallelism.forRanges(planes, threads: threads) { range in
                        for plane in range {
                            let dst = xb + plane * h * w, grad = db + plane * oh * ow, arg = wb + plane * oh * ow
                            for j in 0..<(oh * ow) { dst[Int(arg[j])] += grad[j] }
                        }
                    }
                }
            }
        }
        winners = []
        return dx
    }
}
