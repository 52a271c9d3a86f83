/// A simulated accelerator behind the `TiledGEMMDevice` interface: each GEMM
/// runs clean at full speed, then the fault simulator (`FaultInjector`, the
/// same engine as `has-run --device`) corrupts its failing partial products.
///
/// The profile, and so the true rates, is private: code handed a device (the
/// diagnosis) can only run GEMMs on it.
public final class SimulatedDevice: TiledGEMMDevice {
    private let profile: FaultProfile
    /// Seed of the device's randomness.
    public let seed: UInt64
    /// GEMMs run so far. GEMM i draws its faults as image i of a layer named
    /// `layerName`, so a device rebuilt with the same seed and count continues
    /// exactly where the old one stopped (diagnosis resumes).
    public private(set) var gemmsRun: Int
    public let threads: Int

    /// The layer key the simulator draws diagnostic GEMMs' faults with.
    public static let layerName = "diagnostic-gemm"
    /// Largest operand or output a GEMM may have (elements): 1 GiB of floats.
    public static let maxElements = 1 << 28

    public init(profile: FaultProfile, seed: UInt64 = 0, gemmsRun: Int = 0, threads: Int = Parallelism.threads) {
        self.profile = profile
        self.seed = seed
        self.gemmsRun = gemmsRun
        self.threads = max(1, threads)
    }

    public var geometry: FaultProfile.Geometry { profile.geometry }

    public func multiply(m: Int, k: Int, n: Int, tileK: Int, a: [Float], b: [Float], into c: inout [Float]) throws {
        func refuse(_ problem: String) -> InputError { InputError(file: "simulated device", problem) }
        guard m > 0, k > 0, n > 0, tileK > 0, tileK <= k else {
            throw refuse("GEMM \(m)×\(k)·\(k)×\(n) with K tile \(tileK): every size must be ≥ 1 and the tile ≤ K")
        }
        let (mk, kn, mn) = (m.multipliedReportingOverflow(by: k), k.multipliedReportingOverflow(by: n),
                            m.multipliedReportingOverflow(by: n))
        guard !mk.overflow, !kn.overflow, !mn.overflow,
              max(mk.partialValue, kn.partialValue, mn.partialValue) <= Self.maxElements else {
            throw refuse("GEMM \(m)×\(k)·\(k)×\(n) is larger than \(Self.maxElements) elements per operand")
        }
        guard a.count == m * k, b.count == k * n else {
            throw refuse("operands of \(a.count) and \(b.count) elements for a \(m)×\(k)·\(k)×\(n) GEMM")
        }
        if c.count != m * n { c = [Float](repeating: 0, count: m * n) }
        // The requested tiling, as a convolution's (columns = one image's GEMM columns).
        var device = profile
        device.tiling = FaultProfile.Tiling(denseTileK: tileK, convTileK: tileK)
        let shape = GEMMShape(m: m, k: k, columnsPerImage: n, defaultTileK: tileK)
        let layer = DeviceLayer(name: Self.layerName, index: 0, shape: shape, isConvolution: true)
        let injector = FaultInjector(layers: [layer], profile: device, seed: seed, threads: threads)
        let image = gemmsRun
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    let (a, b, c) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
                    PermutedGEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: StridedMatrix(b, rowStride: n, colStride: 1),
                                          c: StridedMatrix(c, rowStride: n, colStride: 1), threads: threads)
                    injector.inject(GEMMEvent(layerName: Self.layerName, shape: shape, batchSize: 1,
                                              firstImageIndex: image, weights: a, permutation: nil,
                                              bRowStride: n, bColStride: 1, cRowStride: n, cColStride: 1,
                                              input: { _ in b }, output: { _ in c }))
                }
            }
        }
        gemmsRun += 1
    }
}
