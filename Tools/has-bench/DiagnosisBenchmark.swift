import ArgumentParser
import Foundation
import HASDiagnosis
import HASRuntime

extension HASBench {
    /// The diagnostic GEMMs' cost, side by side in one run: the same one-tile
    /// GEMM (M = B·T, K = 1, N columns) through a simulated faulty device
    /// (clean GEMM + fault simulation) and through the plain GEMM.
    struct Diagnosis: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time diagnostic GEMMs on a simulated faulty device against the same GEMMs without fault simulation.")

        @Option(help: "Error kind of the synthetic device.")
        var kind: String = "flip1"

        @Option(name: .customLong("fr-max"), help: "FR_max of the synthetic device (paper geometry 20×32).")
        var frMax: Double = 1e-3

        @Option(help: "GEMM columns (products per PE per GEMM).")
        var columns: Int = 16384

        @Option(help: "GEMMs per timed round.")
        var gemms: Int = 20

        @Option(help: "Timed rounds; medians are reported.")
        var runs: Int = 7

        @Option(help: "Worker threads.")
        var threads: Int = Parallelism.threads

        func run() throws {
            guard let errorKind = ErrorKind(rawValue: kind) else { throw ValidationError("unknown --kind \(kind)") }
            let profile = try FaultProfile.synthetic(kind: errorKind, frMax: frMax, seed: 1)
            let m = profile.geometry.processingElements, n = columns
            let a = [Float](repeating: 1, count: m)
            let b = (0..<n).map { Float(bitPattern: $0 % 2 == 0 ? 0x3FFF_FFFF : 0x407F_FFFF) }
            var c = [Float](repeating: 0, count: m * n)
            let device = SimulatedDevice(profile: profile, seed: 1, threads: threads)
            func faulty() throws { try device.multiply(m: m, k: 1, n: n, tileK: 1, a: a, b: b, into: &c) }
            func clean() {
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        c.withUnsafeMutableBufferPointer { c in
                            PermutedGEMM.multiply(m: m, n: n, k: 1, a: a.baseAddress!, lda: 1,
                                                  b: StridedMatrix(b.baseAddress!, rowStride: n, colStride: 1),
                                                  c: StridedMatrix(c.baseAddress!, rowStride: n, colStride: 1), threads: threads)
                        }
                    }
                }
            }
            // Alternating within each round, so that a change in load hits both alike.
            var faultyRates: [Double] = [], cleanRates: [Double] = []
            try faulty(); clean()
            for _ in 0..<runs {
                var start = Date()
                for _ in 0..<gemms { try faulty() }
                faultyRates.append(Double(gemms * m * n) / Date().timeIntervalSince(start))
                start = Date()
                for _ in 0..<gemms { clean() }
                cleanRates.append(Double(gemms * m * n) / Date().timeIntervalSince(start))
            }
            func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
            let (f, g) = (median(faultyRates), median(cleanRates))
            print(String(format: "diagnostic GEMM %d×1·1×%d, %@ FR_max %g, %d threads, medians of %d rounds of %d GEMMs:",
                         m, n, kind, frMax, threads, runs, gemms))
            print(String(format: "  simulated faulty device %.3g products/s", f))
            print(String(format: "  plain GEMM (no fault simulation) %.3g products/s", g))
            print(String(format: "  ratio faulty / plain %.2f×", f / g))
        }
    }
}
