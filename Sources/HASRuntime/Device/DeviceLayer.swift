/// A weighted layer as the device sees it: its GEMM, whether it is a
/// convolution (which decides its K tile), and its place in the network.
public struct DeviceLayer: Equatable, Sendable {
    public var name: String
    /// Index in `Network.layers`.
    public var index: Int
    public var shape: GEMMShape
    public var isConvolution: Bool

    /// The layer's tile map on a device.
    public func map(on profile: FaultProfile) -> TileMap {
        TileMap(shape: shape, isConvolution: isConvolution, profile: profile)
    }
}

extension Network {
    /// The weighted layers (conv2d, dense) in order.
    public var deviceLayers: [DeviceLayer] {
        layers.enumerated().compactMap { index, layer in
            switch layer {
            case .conv2d(let c): return DeviceLayer(name: c.name, index: index, shape: c.gemmShape, isConvolution: true)
            case .dense(let d): return DeviceLayer(name: d.name, index: index, shape: d.gemmShape, isConvolution: false)
            default: return nil
            }
        }
    }

    /// The weighted layers called `names` (all when nil), in network order.
    /// - Throws: `InputError(file: option)` for a name the model does not have.
    public func deviceLayers(named names: [String]?, option: String = "--faulty-layers") throws -> [DeviceLayer] {
        let all = deviceLayers
        guard let names else { return all }
        for name in names where !all.contains(where: { $0.name == name }) {
            throw InputError(file: option, "model \(self.name) has no weighted layer '\(name)' "
                             + "(its layers: \(all.map(\.name).joined(separator: ", ")))")
        }
        return all.filter { names.contains($0.name) }
    }
}
