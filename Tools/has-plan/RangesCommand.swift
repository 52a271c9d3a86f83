import ArgumentParser
import Foundation
import HASCommandLine
import HASPlanner
import HASRuntime

/// `has-plan ranges`: how large each layer's partial products get on real
/// images, the quantity that decides its sensitivity to exponent faults.
struct RangesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ranges",
        abstract: "Per-layer weight and partial-product magnitudes on real images (what makes a layer fault-sensitive).",
        discussion: """
            Runs the images through the model and measures, for every weighted layer, the \
            largest |weight| and the distribution of |P| over every partial product P (the sum \
            over one K tile of the device, spec §3): median, 99th and 99.9th percentile (to 1/16 \
            binade), maximum, and the share with |P| ≥ 2, where setting exponent bit 6 \
            multiplies P by 2^64 (flip1/bitflip faults are harmless below 2).
            """
    )

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: ImageDataOptions
    @OptionGroup var limit: ImageLimitOptions
    @OptionGroup var threads: ThreadOptions
    @Flag(help: "Print the result as one JSON object on stdout.")
    var json = false

    func validate() throws {
        guard data.images != nil else { throw ValidationError("--images is required") }
    }

    func run() throws {
        let loaded = try model.load()
        let set = try ImageDataOptions.open(images: data.images!, labels: data.labels, limit: limit.limit ?? 1000, for: loaded)
        let x = try set.source.batch(0..<set.source.count)
        let ranges = PartialProductRanges(network: loaded.network, input: x, threads: threads.count)
        if json {
            struct Report: Encodable { var model: String; var images: Int; var layers: [PartialProductRanges.Layer] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(Report(model: loaded.network.name, images: set.source.count,
                                                              layers: ranges.layers)), as: UTF8.self))
            return
        }
        print("\(loaded.network.name) on \(set.source.count) images: |P| per partial product (K tiles of the device)")
        print("layer  tileK   max|w|   median|P|     p99|P|   p99.9|P|     max|P|   share |P|>=2")
        for l in ranges.layers {
            print(l.name.padding(toLength: max(6, l.name.count), withPad: " ", startingAt: 0) + String(format: " %5ld %8.4f %11.4g %10.4g %10.4g %10.4g   %.3g (%ld of %ld)",
                         l.tileK, Double(l.weightMaxAbs), Double(l.median), Double(l.p99), Double(l.p999), Double(l.maxAbs), l.shareAtLeastTwo,
                         l.atLeastTwo, l.products))
        }
    }
}
