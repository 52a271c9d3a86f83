import HASRuntime

/// ReLU(x) = x > 0 ? x : 0; its gradient passes where the output is positive.
public final class TrainableReLU: TrainableLayer {
    private var output: [Float] = []

    public init() {}

    public var parameters: [Parameter] { [] }
    public func outputShape(input: [Int]) -> [Int] { input }
    public var spec: LayerSpec { LayerSpec(type: "relu") }

    public func forward(_ x: BatchTensor, context: StepContext) -> BatchTensor {
        var y = x
        y.data.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            Parallelism.forRanges(p.count, granule: 4096, threads: p.count >= 1 << 16 ? context.threads : 1) { range in
                for i in range { base[i] = base[i] > 0 ? base[i] : 0 }
            }
        }
        if context.training { output = y.data }
        return y
    }

    public func backward(_ dy: BatchTensor, inputGradient: Bool, threads: Int) -> BatchTensor? {
        guard inputGradient else { return nil }
        precondition(dy.data.count == output.count, "relu: backward without forward")
        var dx = dy
        dx.data.withUnsafeMutableBufferPointer { p in
            output.withUnsafeBufferPointer { o in
                for i in p.indices { p[i] = o[i] > 0 ? p[i] : 0 }
            }
        }
        output = []
        return dx
    }
}

/// [C, N, H, W] → [C·H·W, N, 1, 1]: the runtime's flatten (C, H, W order per
/// image) in the trainer's feature-major layout.
public final class TrainableFlatten: TrainableLayer {
    private var shape: [Int] = []

    public init() {}

    public var parameters: [Parameter] { [] }
    public func outputShape(input: [Int]) -> [Int] { [input.reduce(1, *), 1, 1] }
    public var spec: LayerSpec { LayerSpec(type: "flatten") }

    public func forward(_ x: BatchTensor, context: StepContext) -> BatchTensor {
        shape = x.imageShape
        let n = x.count, c = x.channels, hw = x.planeSize
        if hw == 1 { return x }
        var y = BatchTensor(zeros: c * hw, count: n)
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeMutableBufferPointer { yp in
                for ch in 0..<c {
                    for i in 0..<n {
                        let src = xp.baseAddress! + (ch * n + i) * hw
                        for j in 0..<hw { yp[(ch * hw + j) * n + i] = src[j] }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: BatchTensor, inputGradient: Bool, threads: Int) -> BatchTensor? {
        guard inputGradient else { return nil }
        let n = dy.count, c = shape[0], hw = shape[1] * shape[2]
        if hw == 1 { return dy }
        var dx = BatchTensor(zeros: c, count: n, height: shape[1], width: shape[2])
        dy.data.withUnsafeBufferPointer { dp in
            dx.data.withUnsafeMutableBufferPointer { xp in
                for ch in 0..<c {
                    for i in 0..<n {
                        let dst = xp.baseAddress! + (ch * n + i) * hw
                        for j in 0..<hw { dst[j] = dp[(ch * hw + j) * n + i] }
                    }
                }
            }
        }
        return dx
    }
}
