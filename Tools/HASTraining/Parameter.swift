import HASRuntime

/// A trainable tensor and the gradient of the loss with respect to it.
public final class Parameter {
    /// Bundle tensor name, e.g. `c0.weight`.
    public let name: String
    /// Shape in the bundle's layout (OIHW, [out, in], [out]).
    public let shape: [Int]
    public var value: [Float]
    /// Overwritten by each backward pass (not accumulated across steps).
    public var gradient: [Float]

    public init(name: String, shape: [Int], value: [Float]) {
        precondition(shape.reduce(1, *) == value.count)
        self.name = name
        self.shape = shape
        self.value = value
        self.gradient = [Float](repeating: 0, count: value.count)
    }

    public var count: Int { value.count }
    public var tensor: Tensor { Tensor(shape: shape, data: value) }
}
