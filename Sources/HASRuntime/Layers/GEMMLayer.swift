/// What a weighted layer (conv2d or dense) hands to the GEMM, and what the
/// fault simulator needs to attribute every partial product to a PE.
///
/// Per image, the layer computes C[M×P] = W[M×K] · B[K×P]: for a convolution
/// B is the image's im2col patch matrix (P = output positions), for a dense
/// layer B is the image's input column (P = 1).
public struct GEMMShape: Equatable, Sendable {
    /// Rows of the weight matrix: output neurons / conv kernels.
    public var m: Int
    /// Reduction length: input features / C·kh·kw.
    public var k: Int
    /// GEMM columns contributed by one image.
    public var columnsPerImage: Int
    /// The device's K-tile width for this layer (spec §3: 32 for dense, kh·kw for conv).
    public var defaultTileK: Int
}

/// Per-run settings of the forward pass: row permutations (the schedule plan)
/// and hooks that the fault simulator plugs into.
public struct ForwardOptions {
    /// Row permutation per weighted layer name; absent = identity.
    public var permutations: [String: [Int32]]
    /// Index, in the data set, of the batch's first image (keys fault randomness).
    public var firstImageIndex: Int
    /// Called after each weighted layer's clean GEMM, before bias and activation.
    public var afterGEMM: ((GEMMEvent) -> Void)?
    /// The layers whose GEMMs `afterGEMM` needs to see (nil = all). The others
    /// may take kernels with no hook (the direct conv), with the same bits.
    public var hookedLayers: Set<String>?
    /// Most images a convolution hands `afterGEMM` in one event (1: one event per
    /// image). Larger groups let the fault simulator walk several images' streams
    /// at once, but keep their patch matrices and outputs in memory together.
    public var hookGroup = 1
    public var threads: Int

    public init(permutations: [String: [Int32]] = [:], firstImageIndex: Int = 0,
                afterGEMM: ((GEMMEvent) -> Void)? = nil, threads: Int = Parallelism.threads) {
        self.permutations = permutations
        self.firstImageIndex = firstImageIndex
        self.afterGEMM = afterGEMM
        self.threads = threads
    }

    /// Whether `afterGEMM` must see layer `name`'s GEMM.
    @inline(__always)
    public func hooks(_ name: String) -> Bool {
        afterGEMM != nil && (hookedLayers?.contains(name) ?? true)
    }
}

/// One weighted layer's GEMM over a batch, as seen by a hook.
///
/// For image i of the batch: A = `weights` (row-major M×K), B(k, p) =
/// `input(i)[k * bRowStride + p * bColStride]`, C(row, p) =
/// `output(i)[row * cRowStride + p * cColStride]` (rows already unshuffled).
public struct GEMMEvent {
    public var layerName: String
    public var shape: GEMMShape
    public var batchSize: Int
    public var firstImageIndex: Int
    public var weights: UnsafePointer<Float>
    public var permutation: UnsafeBufferPointer<Int32>?
    public var bRowStride: Int, bColStride: Int
    public var cRowStride: Int, cColStride: Int
    public var input: (Int) -> UnsafePointer<Float>
    public var output: (Int) -> UnsafeMutablePointer<Float>

    // Public so that evaluators outside the runtime can replay a layer's hook on a cached GEMM output.
    public init(layerName: String, shape: GEMMShape, batchSize: Int, firstImageIndex: Int, weights: UnsafePointer<Float>,
                permutation: UnsafeBufferPointer<Int32>?, bRowStride: Int, bColStride: Int, cRowStride: Int, cColStride: Int,
                input: @escaping (Int) -> UnsafePointer<Float>, output: @escaping (Int) -> UnsafeMutablePointer<Float>) {
        self.layerName = layerName
        self.shape = shape
        self.batchSize = batchSize
        self.firstImageIndex = firstImageIndex
        self.weights = weights
        self.permutation = permutation
        self.bRowStride = bRowStride
        self.bColStride = bColStride
        self.cRowStride = cRowStride
        self.cColStride = cColStride
        self.input = input
        self.output = output
    }
}
