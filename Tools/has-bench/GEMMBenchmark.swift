import ArgumentParser
import Foundation
import HASCommandLine
import HASRuntime

extension HASBench {
    /// Times the permuted SGEMM on the spec's layer shapes (GFLOP/s, median of runs).
    struct GEMM: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time the permuted tiled SGEMM on layer shapes.")

        @Option(help: "Shapes as MxKxN, comma-separated.")
        var shapes: String = GEMMShapes.default

        @Option(help: "Timed runs per shape; the median is reported.")
        var runs: Int = 7

        @OptionGroup var workers: ThreadOptions
        var threads: Int { workers.count }

        @Flag(help: "Shuffle A's rows through a random permutation (the HAS case).")
        var permuted = false

        @Flag(help: "Dense-layer layout: B = Xᵀ of a row-major [N, K] batch (C row-major, as Dense uses it).")
        var denseLayout = false

        @Flag(help: "One JSON object per shape on stdout.")
        var json = false

        func run() throws {
            for shape in try GEMMShapes.parse(shapes) {
                let (m, k, n) = shape
                var rng = SplitMix64(seed: 7)
                let a = (0..<(m * k)).map { _ in rng.nextSignedUnit() }
                let b = (0..<(k * n)).map { _ in rng.nextSignedUnit() }
                var c = [Float](repeating: 0, count: m * n)
                var perm = (0..<Int32(m)).map { $0 }
                if permuted { perm.shuffle(using: &rng) }
                var times: [Double] = []
                for run in 0...runs {
                    let t = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in perm.withUnsafeBufferPointer { pp in
                            Stopwatch.time {
                                PermutedGEMM.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: k,
                                                      b: denseLayout ? StridedMatrix(bp.baseAddress!, rowStride: 1, colStride: k)
                                                                    : StridedMatrix(bp.baseAddress!, rowStride: n, colStride: 1),
                                                      c: StridedMatrix(cp.baseAddress!, rowStride: n, colStride: 1),
                                                      permutation: permuted ? pp : nil, threads: threads)
                            }
                        } }
                    } }
                    if run > 0 { times.append(t) }  // run 0 warms up
                }
                blackHole(c)
                let median = Stopwatch.median(times)
                let gflops = 2.0 * Double(m) * Double(k) * Double(n) / median / 1e9
                if json {
                    struct Record: Encodable {
                        var impl = "has", shape: String, permuted, denseLayout: Bool, threads: Int, gflops, secondsMedian: Double
                    }
                    printJSONLine(Record(shape: "\(m)x\(k)x\(n)", permuted: permuted, denseLayout: denseLayout, threads: threads,
                                         gflops: gflops, secondsMedian: median))
                } else {
                    print(String(format: "%5dx%5dx%6d  %7.1f GFLOP/s  (median of %d, %.2f ms)", m, k, n, gflops, runs, median * 1e3))
                }
            }
        }
    }
}

enum GEMMShapes {
    static let `default` = "32x16x53824,1024x6272x256,256x1024x256,64x256x256,10x64x256,32x512x12544,1024x1568x256"

    static func parse(_ text: String) throws -> [(Int, Int, Int)] {
        try text.split(separator: ",").map { item in
            let dims = item.split(separator: "x").compactMap { Int($0) }
            guard dims.count == 3, dims.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else {
                throw ValidationError("bad shape '\(item)': expected MxKxN with positive sizes")
            }
            return (dims[0], dims[1], dims[2])
        }
    }
}
