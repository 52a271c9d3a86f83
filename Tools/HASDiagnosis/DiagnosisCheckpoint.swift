import Foundation
import HASRuntime

/// A diagnosis in progress on disk: what it diagnoses (device and seed), the
/// settings that decide its result and the measured state, as digest-carrying
/// JSON (`DigestedJSON`), so that an edited or truncated checkpoint is refused
/// rather than trusted.
public struct DiagnosisCheckpoint: Codable, Equatable, Sendable {
    public static let format = "has-diagnosis-checkpoint"
    /// Largest checkpoint read (a 1M-PE device's counts are ~40 MB).
    public static let maxBytes = 1 << 28

    public var format = DiagnosisCheckpoint.format
    /// What identifies the device (for a simulated one: its profile's fingerprint and seed).
    public var device: String
    public var settings: DiagnosisSettings
    public var state: DiagnosisState

    public init(device: String, settings: DiagnosisSettings, state: DiagnosisState) {
        self.device = device
        self.settings = settings.deciding
        self.state = state
    }

    /// Written to a temporary file and renamed over `path`: never half-written.
    public func write(to path: String) throws {
        try writeFileAtomically(try DigestedJSON.encode(self), to: path)
    }

    /// Reads a checkpoint and checks it belongs to this run.
    /// - Throws: one-line `InputError`s naming `path`: missing, not a checkpoint,
    ///   digest mismatch, another device or other settings, counts out of range.
    public static func load(from path: String, device: String, settings: DiagnosisSettings) throws -> DiagnosisCheckpoint {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(file: path, "no checkpoint to resume from (run without --resume to start)")
        }
        let bytes = try readInputFile(path, maxBytes: maxBytes, what: "checkpoint")
        let checkpoint = try DigestedJSON.decode(DiagnosisCheckpoint.self, from: bytes, file: path, kind: "diagnosis checkpoint")
        func refuse(_ problem: String) -> InputError { InputError(file: path, problem) }
        guard checkpoint.format == format else { throw refuse("not a diagnosis checkpoint (format '\(checkpoint.format)')") }
        guard checkpoint.device == device else {
            throw refuse("made for another device (\(checkpoint.device)), not \(device)")
        }
        guard checkpoint.settings == settings.deciding else {
            throw refuse("made with other settings (precision, rate floor, confidence or GEMM width); "
                         + "resume with the same options or start again")
        }
        if let problem = checkpoint.state.problem { throw refuse("malformed state: \(problem)") }
        return checkpoint
    }
}
