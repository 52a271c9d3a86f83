import HASKernels

/// y[i] = y[i] + x[i]·d for i < count, the product rounded before the add —
/// exactly Swift's `y[i] += x[i] * d` — in the widest vectors the CPU has
/// (`has_add_scaled`).
@inline(__always)
public func addScaled(_ x: UnsafePointer<Float>, by d: Float, to y: UnsafeMutablePointer<Float>, count: Int) {
    has_add_scaled(Int64(count), d, x, y)
}
