import Foundation
import HASDiagnosis
import HASPlanner
import HASRuntime

/// The checkpoint targets. A fuzzed checkpoint almost never keeps a valid
/// digest, so the input is the checkpoint's *content*: content that decodes
/// is written with its correct digest (reaching the checks after the digest,
/// and the resume); content that does not is written with a wrong one.
enum CheckpointTargets {
    /// The layer sizes the seed corpus's GA checkpoints were made for (the tiny model's c0 and op).
    static let planLayerSizes = [2, 3]

    static func envelope<Content: Codable>(_ type: Content.Type, _ bytes: [UInt8]) -> (file: [UInt8], content: Content?) {
        if StrictJSON.problem(in: Data(bytes)) == nil, let content = try? JSONDecoder().decode(type, from: Data(bytes)),
           let file = try? DigestedJSON.encode(content) {
            return (file, content)
        }
        return (Array(#"{"content":"#.utf8) + bytes + Array(#","digest":"0"}"#.utf8), nil)
    }

    /// Loads and validates as `has-plan --resume` does, then runs what is left of a short GA.
    static func plan(_ bytes: [UInt8], path: String) throws {
        try writeFileAtomically(envelope(PlanCheckpoint.self, bytes).file, to: path)
        let checkpoint = try PlanCheckpoint.load(from: path)
        try checkpoint.validate(layerSizes: planLayerSizes, runs: (checkpoint.finishedRuns?.count ?? 0) + 1, file: path)
        let state = checkpoint.state
        guard state.configuration.generations - state.generation <= 3, state.configuration.population <= 64 else { return }
        // Any deterministic fitness will do: the resume must run, not plan well.
        let ga = GeneticAlgorithm(resuming: state) { chromosomes in
            chromosomes.map { c in Double(c.joined().enumerated().reduce(0) { $0 + ($1.offset == Int($1.element) ? 1 : 0) }) / 5 }
        }
        try ga.run()
    }

    /// Loads and checks as `has-plan sensitivity --resume` does.
    static func sensitivity(_ bytes: [UInt8], path: String) throws {
        try writeFileAtomically(envelope(SensitivityCheckpoint.self, bytes).file, to: path)
        let checkpoint = try SensitivityCheckpoint.load(from: path)
        if let problem = checkpoint.problem() { throw InputError(file: path, "not a usable sensitivity checkpoint: \(problem)") }
    }

    /// Loads as `has-diagnose --resume` does (with the device and settings the
    /// content names, as a matching run would have) and, for a small device,
    /// measures one more GEMM from the resumed state.
    static func diagnosis(_ bytes: [UInt8], path: String) throws {
        let (file, content) = envelope(DiagnosisCheckpoint.self, bytes)
        try writeFileAtomically(file, to: path)
        // has-diagnose validates its settings before it reads a checkpoint.
        let settings = content?.settings ?? DiagnosisSettings()
        if let problem = settings.problem { throw InputError(file: path, "settings: \(problem)") }
        let checkpoint = try DiagnosisCheckpoint.load(from: path, device: content?.device ?? "fuzz", settings: settings)
        let state = checkpoint.state
        guard state.blocks * state.threads <= 256, settings.maxColumns <= 256, state.gemms < 1 << 30 else { return }
        let profile = try FaultProfile.synthetic(kind: .flip1, frMax: 0.05, seed: 1, blocks: state.blocks, threads: state.threads)
        var budget = settings
        budget.maxGEMMs = state.gemms + 1
        let device = SimulatedDevice(profile: profile, seed: 1, gemmsRun: state.gemms, threads: 1)
        _ = try DeviceDiagnosis(device: device, settings: budget, resumingFrom: state).run()
    }
}
