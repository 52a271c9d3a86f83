import ArgumentParser
import Foundation
import HASCommandLine
import HASRuntime

extension HASBench {
    /// Clean forward-pass throughput on preprocessed inputs (the peer script
    /// times ONNX Runtime the same way: preprocessing excluded).
    struct Inference: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time clean inference (images/s) at given batch sizes.")

        @Option(help: "Model bundle (.zip); without it, a random-weight mnist32-cnn of the spec's shapes.")
        var model: String?

        @Option(help: "IDX images to classify (preprocessed once, outside the timing); default random inputs.")
        var imagesFile: String?

        @Option(help: "Batch sizes, comma-separated.")
        var batches: String = "1,256"

        @Option(help: "Images per timed pass.")
        var images: Int = 2048

        @Option(help: "Timed passes per batch size; the median is reported.")
        var runs: Int = 5

        @OptionGroup var workers: ThreadOptions
        var threads: Int { workers.count }

        @Flag(help: "One JSON object per batch size on stdout.")
        var json = false

        @Flag(help: "Also time each weighted layer (with its fused ReLU / pool / flatten) on one batch.")
        var layers = false

        func run() throws {
            let loaded = try model.map { try LoadedModel(path: $0) }
            let network = try loaded?.network ?? BenchmarkModels.randomMNIST32()
            let inputs: Tensor
            if let imagesFile, let loaded {
                let set = try ImageDataOptions.open(images: imagesFile, labels: nil, limit: images, for: loaded)
                inputs = try set.source.batch(0..<set.source.count)
            } else {
                var rng = SplitMix64(seed: 5)
                let perImage = network.inputShape.reduce(1, *)
                inputs = Tensor(shape: [images] + network.inputShape,
                                data: (0..<(images * perImage)).map { _ in rng.nextUnitFloat() })
            }
            let source = TensorImageSource(inputs)
            for batch in batches.split(separator: ",").compactMap({ Int($0) }) {
                let count = batch == 1 ? min(source.count, 512) : source.count
                let subset = TensorImageSource(try source.batch(0..<count))
                let classifier = Classifier(network: network, batchSize: batch)
                var rates: [Double] = []
                for run in 0...runs {
                    let result = try classifier.classify(subset, options: ForwardOptions(threads: threads))
                    if run > 0 { rates.append(result.imagesPerSecond) }
                }
                if layers { try timeLayers(network, batch: try subset.batch(0..<min(batch, count))) }
                let median = Stopwatch.median(rates)
                if json {
                    struct Record: Encodable {
                        var impl = "has", isa: String, model: String, batch, threads, images: Int, imagesPerSecond: Double, runs: [Double]
                    }
                    printJSONLine(Record(isa: "\(KernelISA.current)", model: network.name, batch: batch, threads: threads,
                                         images: count, imagesPerSecond: median, runs: rates))
                } else {
                    print(String(format: "%@ batch %4d: %8.0f images/s (median of %d passes over %d images)",
                                 network.name, batch, median, runs, count))
                }
            }
        }
    }
}

extension HASBench.Inference {
    /// Wall time per layer group (a weighted layer and the unweighted layers
    /// after it, as `Network.run` fuses them), median of `runs` × 3 passes, on
    /// the clean activations entering each group. Prints to stderr.
    func timeLayers(_ network: Network, batch x: Tensor) throws {
        let options = ForwardOptions(threads: threads)
        var groups: [Range<Int>] = []
        var start = 0
        while start < network.layers.count {
            var end = start + 1
            while end < network.layers.count {
                if case .conv2d = network.layers[end] { break }
                if case .dense = network.layers[end] { break }
                end += 1
            }
            groups.append(start..<end)
            start = end
        }
        var h = x
        var total = 0.0
        var lines: [(String, Double)] = []
        for group in groups {
            var times: [Double] = []
            var out = h
            for _ in 0..<(runs * 3) { times.append(Stopwatch.time { out = network.run(h, layers: group, options: options) }) }
            let t = Stopwatch.median(times)
            total += t
            let name: String
            switch network.layers[group.lowerBound] {
            case .conv2d(let c): name = c.name
            case .dense(let d): name = d.name
            default: name = "layers \(group)"
            }
            lines.append((name, t))
            h = out
        }
        let n = Double(x.shape[0])
        for (name, t) in lines {
            FileHandle.standardError.write(String(format: "  %-6@ %8.3f ms/batch %7.2f µs/image %5.1f%%\n",
                                                  name, t * 1e3, t / n * 1e6, 100 * t / total).data(using: .utf8)!)
        }
        FileHandle.standardError.write(String(format: "  total  %8.3f ms/batch %7.2f µs/image (batch %d, %d threads)\n",
                                              total * 1e3, total / n * 1e6, x.shape[0], threads).data(using: .utf8)!)
    }
}

enum BenchmarkModels {
    /// mnist32-cnn's architecture (spec §4) with random weights: timing does not depend on the values.
    static func randomMNIST32() throws -> Network {
        var rng = SplitMix64(seed: 1)
        func t(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextSignedUnit() * 0.05 })
        }
        var tensors: [String: Tensor] = ["c0.weight": t([32, 1, 4, 4]), "c0.bias": t([32])]
        var layers = [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias",
                                stride: [1, 1], padding: [0, 0, 0, 0]),
                      LayerSpec(type: "relu"), LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]),
                      LayerSpec(type: "flatten")]
        for (name, inn, out) in [("h0", 6272, 1024), ("h1", 1024, 256), ("h2", 256, 64), ("op", 64, 10)] {
            tensors["\(name).weight"] = t([out, inn])
            tensors["\(name).bias"] = t([out])
            layers.append(LayerSpec(type: "dense", name: name, weight: "\(name).weight", bias: "\(name).bias"))
            layers.append(LayerSpec(type: name == "op" ? "softmax" : "relu"))
        }
        let manifest = Manifest(name: "mnist32-cnn-random", input: InputSpec(shape: [1, 32, 32], preprocessing: Preprocessing()),
                                classes: (0..<10).map(String.init), layers: layers)
        return try Network(manifest: manifest, tensors: tensors, file: "<random>")
    }
}
