import ArgumentParser
import Foundation
import HASDiagnosis
import HASRuntime

/// `has-diagnose`: fault profiles of devices — estimated from a black-box
/// device (the default subcommand), or synthetic ones the paper's way.
@main
struct HASDiagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "has-diagnose",
        abstract: "Create or estimate fault profiles of (simulated) accelerators.",
        subcommands: [Diagnose.self, Synth.self],
        defaultSubcommand: Diagnose.self
    )
}

extension HASDiagnose {
    /// `has-diagnose synth`: p ~ Uniform(0, FR_max) per PE, seeded (paper §4.2).
    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a synthetic device: each PE's fault rate drawn from Uniform(0, FR_max), seeded.",
            discussion: "The same options always give the same profile and fingerprint. See docs/fault-profile.md."
        )

        @Option(help: "Error kind: flip0, flip1, bitflip, tf32, bf16 or zero.")
        var kind: String

        @Option(name: .customLong("fr-max"), help: "Largest per-PE fault rate FR_max, in [0, 1].")
        var frMax: Double

        @Option(help: "Seed of the per-PE rates.")
        var seed: UInt64

        @Option(help: "Blocks (SMs) of the device.")
        var blocks: Int = FaultProfile.Geometry.paper.blocks

        @Option(help: "Threads (PEs) per block.")
        var threads: Int = FaultProfile.Geometry.paper.threads

        @Option(name: .customLong("exponent-bits"), help: "Exponent bits a flip may hit: 0-6 (the paper's choice) or 0-7.")
        var exponentBits: String = ExponentBits.low7.rawValue

        @Option(name: .customLong("dense-tile-k"), help: "K-tile width of dense layers (default 32).")
        var denseTileK: Int?

        @Option(name: .customLong("conv-tile-k"), help: "K-tile width of convolutions (default kh·kw).")
        var convTileK: Int?

        @Option(help: "Output profile (JSON), written atomically.")
        var out: String

        func validate() throws {
            if ErrorKind(rawValue: kind) == nil {
                throw ValidationError("--kind must be one of \(ErrorKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !(frMax >= 0 && frMax <= 1) { throw ValidationError("--fr-max must be in [0, 1]") }
            if !(1...FaultProfile.maxBlocks).contains(blocks) {
                throw ValidationError("--blocks must be between 1 and \(FaultProfile.maxBlocks)")
            }
            if !(1...FaultProfile.maxThreads).contains(threads) {
                throw ValidationError("--threads must be between 1 and \(FaultProfile.maxThreads)")
            }
            if blocks * threads > FaultProfile.maxProcessingElements {
                throw ValidationError("--blocks × --threads must be at most \(FaultProfile.maxProcessingElements)")
            }
            if ExponentBits(rawValue: exponentBits) == nil { throw ValidationError("--exponent-bits must be 0-6 or 0-7") }
            for (name, value) in [("--dense-tile-k", denseTileK), ("--conv-tile-k", convTileK)] {
                if let value, !(1...FaultProfile.maxTileK).contains(value) {
                    throw ValidationError("\(name) must be between 1 and \(FaultProfile.maxTileK)")
                }
            }
        }

        func run() throws {
            let profile = try FaultProfile.synthetic(
                kind: ErrorKind(rawValue: kind)!, frMax: frMax, seed: seed, blocks: blocks, threads: threads,
                exponentBits: ExponentBits(rawValue: exponentBits)!,
                tiling: .init(denseTileK: denseTileK, convTileK: convTileK))
            try profile.write(to: out)
            print("wrote \(out): \(kind), FR_max \(frMax), seed \(seed), \(blocks)×\(threads) PEs, "
                  + String(format: "mean rate %.3g", profile.meanRate))
            print("fingerprint \(profile.fingerprint)")
        }
    }

}
