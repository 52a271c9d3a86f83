import ArgumentParser
import Foundation
import HASCommandLine
import HASRuntime

extension HASBench {
    /// Time to load and validate a bundle and bind it into a runnable network.
    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time loading a model bundle (read, inflate, CRC, validate, bind).")

        @OptionGroup var modelOptions: ModelOptions
        var model: String { modelOptions.path }

        @Option(help: "Timed loads; the median is reported.")
        var runs: Int = 7

        @Flag(help: "One JSON object on stdout.")
        var json = false

        func run() throws {
            var times: [Double] = []
            for _ in 0..<runs {
                var network: Network?
                times.append(try Stopwatch.timeThrowing { network = try LoadedModel(path: model).network })
                blackHole(network)
            }
            let median = Stopwatch.median(times)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
            if json {
                struct Record: Encodable { var impl = "has", what = "load", model: String, bytes: Int, secondsMedian: Double }
                printJSONLine(Record(model: model, bytes: bytes, secondsMedian: median))
            } else {
                print(String(format: "%@ (%.1f MB): load + validate + bind %.3f s (median of %d)", model,
                             Double(bytes) / 1e6, median, runs))
            }
        }
    }
}
