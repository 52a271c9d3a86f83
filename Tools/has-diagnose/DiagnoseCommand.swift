import ArgumentParser
import Foundation
import HASDiagnosis
import HASRuntime

extension HASDiagnose {
    /// `has-diagnose [diagnose]`: estimates every PE's fault rate and the error
    /// kind of a device through diagnostic GEMMs, and writes its fault profile.
    struct Diagnose: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Estimate every PE's fault rate and the error kind of a device through diagnostic GEMMs.",
            discussion: """
                The device is driven only through 'run this tiled GEMM, give back C'; a simulated device is \
                given as a fault profile (--device), whose rates the diagnosis never reads. PEs are tested \
                until each one's 95% interval is within --precision (relative, or absolute below \
                --rate-floor) or the budget is spent; PEs still uncertain are listed in the profile. \
                Progress is checkpointed to OUT.checkpoint.json; --resume continues an interrupted run \
                to the same result. See docs/diagnosis.md.
                """)

        @Option(help: "The device: a fault profile (JSON) simulated as a black box.")
        var device: String

        @Option(help: "Output fault profile (JSON), written atomically.")
        var out: String

        @Option(help: "Wanted half-width of each PE's interval: relative above --rate-floor, × --rate-floor below it.")
        var precision: Double = 0.1

        @Option(name: .customLong("rate-floor"), help: "Rates below this are resolved to an absolute precision.")
        var rateFloor: Double = 1e-3

        @Option(help: "Confidence of the intervals.")
        var confidence: Double = 0.95

        @Option(name: .customLong("max-gemms"), help: "Budget: at most this many diagnostic GEMMs.")
        var maxGEMMs: Int?

        @Option(name: .customLong("max-seconds"), help: "Budget: stop starting GEMMs after this much wall time.")
        var maxSeconds: Double?

        @Option(help: "Seed of the simulated device's fault draws.")
        var seed: UInt64 = 0

        @Option(help: "Write a heat map (SVG), every PE's estimate and the 10 worst PEs into this directory.")
        var report: String?

        @Option(help: "The device's true profile, to compare estimates with (written into --report and printed).")
        var truth: String?

        @Option(help: "Worker threads (default: all cores); the result does not depend on it.")
        var threads: Int = Parallelism.threads

        @Flag(help: "Continue from OUT.checkpoint.json after an interruption.")
        var resume = false

        func validate() throws {
            if threads < 1 { throw ValidationError("--threads must be at least 1") }
        }

        func run() throws {
            do {
                try diagnose()
            } catch let error as InputError {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }

        func diagnose() throws {
            let settings = DiagnosisSettings(precision: precision, rateFloor: rateFloor, confidence: confidence,
                                             maxGEMMs: maxGEMMs, maxSeconds: maxSeconds)
            if let problem = settings.problem { throw InputError(file: "has-diagnose", problem) }
            let profile = try FaultProfile.load(path: device)
            let truthProfile = try truth.map { try FaultProfile.load(path: $0) }
            if let truthProfile, truthProfile.geometry != profile.geometry {
                throw InputError(file: truth!, "geometry \(truthProfile.geometry.blocks)×\(truthProfile.geometry.threads) "
                                 + "differs from the device's")
            }
            let checkpointPath = out + ".checkpoint.json"
            let deviceID = "simulated \(profile.fingerprint) seed \(seed)"
            let resumed = try resume ? DiagnosisCheckpoint.load(from: checkpointPath, device: deviceID, settings: settings) : nil
            let simulated = SimulatedDevice(profile: profile, seed: seed, gemmsRun: resumed?.state.gemms ?? 0,
                                            threads: threads)
            let diagnosis = try DeviceDiagnosis(device: simulated, settings: settings, resumingFrom: resumed?.state)
            let pes = profile.geometry.processingElements
            let bar = ProgressBar(total: pes, label: "diagnose")
            var lastWrite = Date.distantPast
            let result = try diagnosis.run(progress: { p in
                let eta = p.gemms > 0 ? p.seconds / Double(p.gemms) * Double(p.gemmsLeft) : 0
                bar.update(p.resolved, status: "PEs resolved, \(p.gemms) GEMMs, \(p.phase.rawValue), ETA ~\(Int(eta.rounded()))s")
            }, checkpoint: { state in
                // Throttled: a kill loses at most a second of GEMMs, which the resumed run redoes identically.
                if Date().timeIntervalSince(lastWrite) >= 1 {
                    try DiagnosisCheckpoint(device: deviceID, settings: settings, state: state).write(to: checkpointPath)
                    lastWrite = Date()
                }
            })
            bar.finish()
            let diagnosed = try result.profile(tiling: profile.tiling)
            try diagnosed.write(to: out)
            if let report { try DiagnosisReport.write(result, truth: truthProfile.map(rows), to: report) }
            if result.stop == .resolved {
                try? FileManager.default.removeItem(atPath: checkpointPath)
            } else {
                // Stopped by the budget: --resume with a larger one carries on from here.
                try DiagnosisCheckpoint(device: deviceID, settings: settings, state: result.state).write(to: checkpointPath)
            }
            print(summary(result, diagnosed: diagnosed, truth: truthProfile))
        }

        func rows(_ profile: FaultProfile) -> [[Double]] {
            (0..<profile.geometry.blocks).map { s in (0..<profile.geometry.threads).map { profile.rate(block: s, thread: $0) } }
        }

        func summary(_ result: DiagnosisResult, diagnosed: FaultProfile, truth: FaultProfile?) -> String {
            let e = result.estimates
            var lines = [
                "kind: \(result.identification.summary)",
                "PEs resolved: \(e.count - result.unresolved.count) of \(e.count)"
                    + (result.unresolved.isEmpty ? "" : " (stopped by the \(result.stop.rawValue); the rest are listed in the profile)"),
                String(format: "mean rate %.4g, highest %.4g, widest interval ±%.3g", diagnosed.meanRate,
                       e.map(\.rate).max() ?? 0, e.map { ($0.upper - $0.lower) / 2 }.max() ?? 0),
                String(format: "%d GEMMs, %.3g partial products, %.2f s", result.state.gemms,
                       Double(result.productsTested), result.state.seconds),
            ]
            if result.identification.kind == nil {
                lines.append(String(format: "fault-free as far as measured: every PE's rate < %.3g (%.0f%% upper bound)",
                                    e.map(\.upper).max() ?? 1, confidence * 100))
            }
            if let truth {
                let accuracy = DiagnosisAccuracy(result, truth: rows(truth), rateFloor: rateFloor)
                var line = String(format: "vs truth: %.1f%% of PEs inside their interval", accuracy.coverage * 100)
                if let mre = accuracy.meanRelativeError {
                    line += String(format: ", mean relative error %.2f%% over %d PEs with p ≥ %g", mre * 100,
                                   accuracy.relativeErrorPEs, rateFloor)
                }
                // A fault-free device has no kind to find: "none" is the right answer there.
                func name(_ kind: ErrorKind?, _ bits: ExponentBits) -> String {
                    guard let kind else { return "none" }
                    return kind.rawValue + (kind.choosesExponentBit ? " \(bits.rawValue)" : "")
                }
                let trueKind = truth.meanRate > 0 ? name(truth.kind, truth.exponentBits) : "none"
                let found = name(result.identification.kind, result.identification.exponentBits)
                line += ", kind \(trueKind == found ? "right" : "WRONG (true: \(trueKind))")"
                lines.append(line)
            }
            lines.append("wrote \(out), fingerprint \(diagnosed.fingerprint)")
            return lines.joined(separator: "\n")
        }
    }
}
