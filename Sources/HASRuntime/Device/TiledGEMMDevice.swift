/// The narrowest interface an accelerator offers, and all that diagnosis may
/// use: run one tiled GEMM, give back C. A real backend implements it by
/// launching the GEMM with the requested tiling; `SimulatedDevice` implements
/// it with the fault simulator.
public protocol TiledGEMMDevice: AnyObject {
    /// B blocks × T threads per block: what a device says about itself.
    var geometry: FaultProfile.Geometry { get }

    /// C[M×N] = A[M×K]·B[K×N], all row-major, tiled as spec §3 says with K tiles
    /// of `tileK` (tile (l, m) on block (l·⌈K/tileK⌉ + m) mod B, row r on thread r mod T).
    /// - Parameter c: resized to M·N and overwritten.
    /// - Throws: `InputError` for sizes that do not fit the operands or the device.
    func multiply(m: Int, k: Int, n: Int, tileK: Int, a: [Float], b: [Float], into c: inout [Float]) throws
}
