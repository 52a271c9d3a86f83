import HASRuntime

/// A batch of activations in channel-major layout [C, N, H, W].
///
/// The trainer keeps the batch index inside each channel so that a whole
/// batch is one GEMM operand: a conv layer's output W·cols[K × N·P] is already
/// [O, N, OH, OW], and a dense layer's Yᵀ[out × N] is [out, N, 1, 1]. The
/// runtime's NCHW input with C = 1 is the same memory.
public struct BatchTensor: Equatable, Sendable {
    public var channels: Int
    public var count: Int
    public var height: Int
    public var width: Int
    public var data: [Float]

    public init(channels: Int, count: Int, height: Int = 1, width: Int = 1, data: [Float]) {
        precondition(data.count == channels * count * height * width,
                     "\(data.count) values for [\(channels), \(count), \(height), \(width)]")
        self.channels = channels
        self.count = count
        self.height = height
        self.width = width
        self.data = data
    }

    public init(zeros channels: Int, count: Int, height: Int = 1, width: Int = 1) {
        self.init(channels: channels, count: count, height: height, width: width,
                  data: [Float](repeating: 0, count: channels * count * height * width))
    }

    /// Per-image shape [C, H, W].
    public var imageShape: [Int] { [channels, height, width] }
    public var planeSize: Int { height * width }

    /// A runtime NCHW tensor [N, 1, H, W] is this layout with C = 1.
    public init(singleChannel x: Tensor) {
        precondition(x.rank == 4 && x.shape[1] == 1, "expected [N, 1, H, W], got \(x.shape)")
        self.init(channels: 1, count: x.shape[0], height: x.shape[2], width: x.shape[3], data: x.data)
    }

    /// Value at (c, i, y, x).
    public subscript(c: Int, i: Int, y: Int, x: Int) -> Float {
        get { data[((c * count + i) * height + y) * width + x] }
        set { data[((c * count + i) * height + y) * width + x] = newValue }
    }

    /// Element (c, i, y, x) of image-major NCHW data as this layout (for tests and export).
    public init(nchw x: Tensor) {
        precondition(x.rank == 4)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var out = BatchTensor(zeros: c, count: n, height: h, width: w)
        let plane = h * w
        for i in 0..<n {
            for ch in 0..<c {
                for j in 0..<plane { out.data[(ch * n + i) * plane + j] = x.data[(i * c + ch) * plane + j] }
            }
        }
        self = out
    }

    /// The batch as an image-major NCHW runtime tensor.
    public var nchw: Tensor {
        var out = [Float](repeating: 0, count: data.count)
        let plane = planeSize
        for ch in 0..<channels {
            for i in 0..<count {
                for j in 0..<plane { out[(i * channels + ch) * plane + j] = data[(ch * count + i) * plane + j] }
            }
        }
        return Tensor(shape: [count, channels, height, width], data: out)
    }
}
