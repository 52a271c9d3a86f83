import HASRuntime

/// Moves a power-of-two factor from one weighted layer into the next one:
/// layer L's weight and bias are multiplied by `factor`, the next weighted
/// layer's weight is divided by it.
///
/// Why: ReLU, max pooling, flatten and dropout are positively homogeneous, so
/// the network computes the same function, and with a power of two every
/// product and partial sum of L is scaled exactly, so clean predictions are
/// bit-identical. What changes is the magnitude of L's partial products, and
/// with it which exponent bits a fault meets (spec §3): flip1 and bitflip on
/// exponent bits 0–6 are catastrophic only for |P| ≥ 2. Training fixes the
/// function, not this scale, so a model's fault sensitivity is partly a choice
/// of parametrisation; docs/training.md explains the one the shipped
/// mnist32-cnn uses.
public enum LayerRescaling {
    /// Layers allowed between the two weighted layers: each commutes with a positive scale.
    static let homogeneous: Set<String> = ["relu", "maxpool2d", "flatten", "dropout"]

    /// The bundle with `layer` scaled by `factor` and the next weighted layer by 1/`factor`.
    /// - Throws: `InputError(file:)` if the factor is not a power of two, the layer is
    ///   unknown or last, a non-homogeneous layer sits between the two, or a scaled
    ///   value would not be exact (overflow, subnormal).
    public static func rescale(_ bundle: ModelBundle, layer: String, by factor: Float, file: String) throws -> ModelBundle {
        func fail(_ problem: String) -> InputError { InputError(file: file, problem) }
        guard factor.isNormal, factor > 0, factor.significandBitPattern == 0 else {
            throw fail("rescaling factor \(factor) is not a positive power of two (only those keep the outputs exact)")
        }
        let layers = bundle.manifest.layers
        guard let first = layers.firstIndex(where: { $0.name == layer && ["conv2d", "dense"].contains($0.type) }) else {
            throw fail("no conv2d or dense layer named '\(layer)'")
        }
        guard let next = layers[(first + 1)...].firstIndex(where: { ["conv2d", "dense"].contains($0.type) }) else {
            throw fail("'\(layer)' is the last weighted layer: there is no layer to take back the factor")
        }
        if let blocker = layers[(first + 1)..<next].first(where: { !homogeneous.contains($0.type) }) {
            throw fail("a \(blocker.type) layer between '\(layer)' and '\(layers[next].name ?? "?")' does not commute with scaling")
        }
        var result = bundle
        func scale(_ key: String?, by f: Float) throws {
            guard let key, var t = result.tensors[key] else { throw fail("tensor \(key ?? "(unnamed)") is missing") }
            for i in t.data.indices {
                let v = t.data[i], s = v * f
                guard v == 0 || (s.isNormal && s / f == v) else {
                    throw fail("scaling \(key) by \(f) would not be exact (element \(i) = \(v))")
                }
                t.data[i] = s
            }
            result.tensors[key] = t
        }
        try scale(layers[first].weight, by: factor)
        try scale(layers[first].bias, by: factor)
        try scale(layers[next].weight, by: 1 / factor)
        let note = "\(layer) x\(formatted(factor)), \(layers[next].name ?? "?") /\(formatted(factor))"
        var provenance = result.manifest.provenance ?? Provenance()
        provenance.rescaling = (provenance.rescaling ?? []) + [note]
        result.manifest.provenance = provenance
        return result
    }

    static func formatted(_ f: Float) -> String {
        f == f.rounded() ? String(Int(f)) : String(f)
    }
}
