import ArgumentParser
import Foundation

/// Benchmarks of the runtime (never timed unit tests). Peers are timed by the
/// scripts in Tools/bench/ in the same run; see BENCHMARKS.md.
@main
struct HASBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "has-bench",
        abstract: "Benchmarks of the HAS runtime.",
        subcommands: [GEMM.self, Inference.self, Load.self, Faults.self, Diagnosis.self]
    )
}

enum Stopwatch {
    static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func timeThrowing(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }
}

/// Keeps a result alive so the optimiser cannot drop the work.
@inline(never)
func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }
