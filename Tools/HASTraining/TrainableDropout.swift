import HASRuntime

/// Inverted dropout: in training each element is kept with probability
/// 1 − rate and scaled by 1/(1 − rate); at inference it is the identity.
///
/// The mask of element e at optimizer step s is a pure function of
/// (seed, s, layer index, e), so it does not depend on the thread count.
public final class TrainableDropout: TrainableLayer {
    public let rate: Float
    /// Distinguishes the masks of several dropout layers in one network.
    public let index: UInt64
    private var mask: [Float] = []

    public init(rate: Float, index: UInt64) {
        precondition(rate >= 0 && rate < 1)
        self.rate = rate
        self.index = index
    }

    public var parameters: [Parameter] { [] }
    public func outputShape(input: [Int]) -> [Int] { input }
    public var spec: LayerSpec { LayerSpec(type: "dropout", rate: rate) }

    /// The keep/scale factor of every element for a step: element e is
    /// dropped when 16 bits of a hash of (seed, step, layer, e / 4) fall below
    /// rate·2¹⁶ (one 64-bit hash serves four elements).
    public static func mask(count: Int, rate: Float, seed: UInt64, step: UInt64, index: UInt64) -> [Float] {
        let key = SplitMix64.mix(SplitMix64.mix(seed ^ 0xD50F_0A7E) ^ SplitMix64.mix(step &* 0x1_0000 &+ index))
        let scale = 1 / (1 - rate)
        let threshold = UInt64((rate * 65536).rounded())
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            var e = 0
            while e < count {
                let h = SplitMix64.mix(key &+ UInt64(e >> 2) &* 0x9E37_79B9_7F4A_7C15)
                for lane in 0..<min(4, count - e) {
                    out[e + lane] = (h >> (16 * UInt64(lane))) & 0xFFFF < threshold ? 0 : scale
                }
                e += 4
            }
            initialized = count
        }
    }

    public func forward(_ x: BatchTensor, context: StepContext) -> BatchTensor {
        guard context.training, rate > 0 else { return x }
        mask = Self.mask(count: x.data.count, rate: rate, seed: context.seed, step: context.step, index: index)
        var y = x
        y.data.withUnsafeMutableBufferPointer { p in
            mask.withUnsafeBufferPointer { m in for i in p.indices { p[i] *= m[i] } }
        }
        return y
    }

    public func backward(_ dy: BatchTensor, inputGradient: Bool, threads: Int) -> BatchTensor? {
        guard inputGradient else { return nil }
        guard rate > 0 else { return dy }
        precondition(mask.count == dy.data.count, "dropout: backward without forward")
        var dx = dy
        dx.data.withUnsafeMutableBufferPointer { p in
            mask.withUnsafeBufferPointer { m in for i in p.indices { p[i] *= m[i] } }
        }
        mask = []
        return dx
    }
}
