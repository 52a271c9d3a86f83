import ArgumentParser
import Foundation
import HASCommandLine
import HASRuntime
import HASTraining

/// `has-train rescale`: move a power-of-two factor from one weighted layer into
/// the next. The network's outputs stay bit-identical; the magnitude of the
/// layer's partial products, and so its exposure to exponent-bit faults, changes
/// (docs/training.md).
struct RescaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rescale",
        abstract: "Scale a layer by a power of two and the next weighted layer by its inverse.",
        discussion: """
            Example: has-train rescale --model Models/mnist32-cnn.zip --layer c0 --factor 4 \
            --out Models/mnist32-cnn.zip multiplies c0's weights and bias by 4 and divides \
            h0's weights by 4. Only ReLU, max pooling, flatten and dropout may sit between \
            the two layers. The manifest's provenance records the rescaling.
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(help: "Weighted layer to scale (conv2d or dense), e.g. c0.")
    var layer: String

    @Option(help: "A power of two, e.g. 4 or 0.5.")
    var factor: Float

    @Option(help: "Bundle to write (atomically; may be the input).")
    var out: String

    func run() throws {
        // Errors are InputErrors naming the file; ArgumentParser prints them as one line.
        let bundle = try ModelBundle.load(from: model.path)
        let scaled = try LayerRescaling.rescale(bundle, layer: layer, by: factor, file: model.path)
        try scaled.write(to: out)
        print("wrote \(out): \(scaled.manifest.provenance?.rescaling?.last ?? "")")
    }
}
