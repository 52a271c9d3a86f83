/// What a forward pass needs to know besides its input.
public struct StepContext: Sendable {
    /// Training mode: dropout drops and layers keep what backward needs.
    public var training: Bool
    /// Seed of the run; dropout masks derive from (seed, step, layer, element).
    public var seed: UInt64
    /// Optimizer step number, so that every step gets fresh masks.
    public var step: UInt64
    public var threads: Int

    public init(training: Bool, seed: UInt64 = 0, step: UInt64 = 0, threads: Int = Parallelism.threads) {
        self.training = training
        self.seed = seed
        self.step = step
        self.threads = threads
    }
}

/// One layer of a trainable network over channel-major batches.
///
/// `forward` in training mode keeps what `backward` needs; `backward` takes
/// dL/dy, overwrites its parameters' gradients and returns dL/dx (or nil when
/// `inputGradient` is false, as for the first layer).
public protocol TrainableLayer: AnyObject {
    var parameters: [Parameter] { get }
    /// Per-image output shape [C, H, W] for a per-image input shape.
    func outputShape(input: [Int]) -> [Int]
    func forward(_ x: BatchTensor, context: StepContext) -> BatchTensor
    func backward(_ dy: BatchTensor, inputGradient: Bool, threads: Int) -> BatchTensor?
    /// The layer as the bundle's manifest lists it.
    var spec: LayerSpec { get }
}

import HASRuntime
