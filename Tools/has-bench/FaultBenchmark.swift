import ArgumentParser
import Foundation
import HASCommandLine
import HASDiagnosis
import HASRuntime

extension HASBench {
    /// Faulty-device simulation cost, side by side in one run: clean vs faults
    /// in one layer vs faults everywhere (images/s, medians), and the fast path
    /// (clean GEMM + corrections) vs the reference that materialises every
    /// partial product, on the same images and fault draws.
    struct Faults: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time faulty inference: clean vs faulty images/s, and the fast path vs the slow reference.")

        @Option(help: "Model bundle (.zip); without it, a random-weight mnist32-cnn of the spec's shapes.")
        var model: String?

        @Option(help: "Error kind of the synthetic device.")
        var kind: String = "flip1"

        @Option(name: .customLong("fr-max"), help: "FR_max of the synthetic device (paper geometry 20×32).")
        var frMax: Double = 5e-3

        @Option(help: "Seed of the device's rates.")
        var deviceSeed: UInt64 = 3987

        @Option(help: "The layer faulted alone in the single-layer row.")
        var layer: String = "c0"

        @Option(help: "Images per timed pass.")
        var images: Int = 2048

        @Option(help: "Images for the fast-vs-reference comparison (the reference is slow).")
        var referenceImages: Int = 64

        @Option(help: "Images per forward pass.")
        var batch: Int = 256

        @Option(help: "Timed passes per row; the median is reported.")
        var runs: Int = 5

        @OptionGroup var workers: ThreadOptions
        var threads: Int { workers.count }

        @Flag(help: "One JSON object on stdout.")
        var json = false

        func run() throws {
            guard let errorKind = ErrorKind(rawValue: kind) else { throw ValidationError("unknown --kind \(kind)") }
            let network = try model.map { try LoadedModel(path: $0).network } ?? BenchmarkModels.randomMNIST32()
            let profile = try FaultProfile.synthetic(kind: errorKind, frMax: frMax, seed: deviceSeed)
            var rng = SplitMix64(seed: 5)
            let perImage = network.inputShape.reduce(1, *)
            let inputs = Tensor(shape: [images] + network.inputShape,
                                data: (0..<(images * perImage)).map { _ in rng.nextUnitFloat() })
            let source = TensorImageSource(inputs)
            let classifier = Classifier(network: network, batchSize: batch)

            /// Median images/s of each configuration over `runs` rounds (after one warm-up round); the
            /// configurations alternate within a round so that a change in machine load hits them alike.
            func time(_ source: ImageSource, _ configurations: [() throws -> ForwardOptions]) throws -> [(Double, [Int])] {
                var rates = [[Double]](repeating: [], count: configurations.count)
                var predictions = [[Int]](repeating: [], count: configurations.count)
                for run in 0...runs {
                    for (i, makeOptions) in configurations.enumerated() {
                        let result = try classifier.classify(source, options: try makeOptions())
                        if run > 0 { rates[i].append(result.imagesPerSecond) }
                        predictions[i] = result.predictions
                    }
                }
                return zip(rates, predictions).map { (Stopwatch.median($0), $1) }
            }
            func injector(_ layers: [String]?) throws -> FaultInjector {
                try FaultInjector(network: network, profile: profile, faultyLayers: layers, seed: 1, threads: threads)
            }
            let rows = try time(source, [{ ForwardOptions(threads: threads) },
                                         { try injector([layer]).options(ForwardOptions(threads: threads)) },
                                         { try injector(nil).options(ForwardOptions(threads: threads)) }])
            let (clean, oneLayer, allLayers) = (rows[0].0, rows[1].0, rows[2].0)

            // Fast vs reference, all layers faulty, on the same images and draws.
            let small = TensorImageSource(try source.batch(0..<min(referenceImages, images)))
            let (fast, fastPredictions) = try time(small, [{ try injector(nil).options(ForwardOptions(threads: threads)) }])[0]
            let reference = try ReferenceFaultInjector(network: network, profile: profile, seed: 1)
            let start = DispatchTime.now().uptimeNanoseconds
            let referenceResult = try classifier.classify(small, options: reference.options(ForwardOptions(threads: threads)))
            let referenceRate = Double(small.count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            let agree = zip(fastPredictions, referenceResult.predictions).filter { $0 == $1 }.count

            if json {
                struct Record: Encodable {
                    var model, kind: String, frMax: Double, images, batch, threads: Int, cleanImagesPerSecond: Double
                    var layer: String, layerFaultyImagesPerSecond, allFaultyImagesPerSecond: Double, referenceImages: Int
                    var fastImagesPerSecond, referenceImagesPerSecond: Double, predictionsAgreeing: Int
                }
                printJSONLine(Record(model: network.name, kind: "\(kind)", frMax: frMax, images: images, batch: batch, threads: threads,
                                     cleanImagesPerSecond: clean, layer: layer, layerFaultyImagesPerSecond: oneLayer,
                                     allFaultyImagesPerSecond: allLayers, referenceImages: small.count, fastImagesPerSecond: fast,
                                     referenceImagesPerSecond: referenceRate, predictionsAgreeing: agree))
                return
            }
            print("\(network.name), \(kind) FR_max \(frMax) on 20×32 PEs, batch \(batch), \(threads) threads, median of \(runs) alternating rounds over \(images) images")
            print(String(format: "  clean                 %8.0f images/s", clean))
            print("  faults in \(layer.padding(toLength: 10, withPad: " ", startingAt: 0))  "
                  + String(format: "%8.0f images/s  (%.2f× clean)", oneLayer, oneLayer / clean))
            print(String(format: "  faults in all layers  %8.0f images/s  (%.2f× clean)", allLayers, allLayers / clean))
            print(String(format: "  fast path vs reference (all layers, %d images): %.0f vs %.1f images/s = %.0f×; predictions agree on %d/%d",
                         small.count, fast, referenceRate, fast / referenceRate, agree, small.count))
        }
    }
}
