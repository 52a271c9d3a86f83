import Crypto
import Foundation
import HASRuntime

/// A diagnosis in progress on disk: what it diagnoses (device and seed), the
/// settings that decide its result, the measured state, and a SHA-256 digest
/// of all three, so that an edited or truncated checkpoint is refused rather
/// than trusted.
public struct DiagnosisCheckpoint: Codable, Equatable, Sendable {
    public static let format = "has-diagnosis-checkpoint"
    /// Largest checkpoint read (a 1M-PE device's counts are ~40 MB).
    public static let maxBytes = 1 << 28

    public var format = DiagnosisCheckpoint.format
    /// What identifies the device (for a simulated one: its profile's fingerprint and seed).
    public var device: String
    public var settings: DiagnosisSettings
    public var state: DiagnosisState
    public var digest: String = ""

    public init(device: String, settings: DiagnosisSettings, state: DiagnosisState) {
        self.device = device
        self.settings = settings.deciding
        self.state = state
        digest = contentDigest()
    }

    /// SHA-256 of the sorted-key JSON of everything but the digest.
    func contentDigest() -> String {
        var copy = self
        copy.digest = ""
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(copy)) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    public func write(to path: String) throws {
        try writeFileAtomically(Array(try JSONEncoder().encode(self)), to: path)
    }

    /// Reads a checkpoint and checks it belongs to this run.
    /// - Throws: one-line `InputError`s naming `path`: missing, not a checkpoint,
    ///   digest mismatch, another device or other settings, counts out of range.
    public static func load(from path: String, device: String, settings: DiagnosisSettings) throws -> DiagnosisCheckpoint {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(file: path, "no checkpoint to resume from (run without --resume to start)")
        }
        let bytes = try readInputFile(path, maxBytes: maxBytes, what: "checkpoint")
        let checkpoint: DiagnosisCheckpoint
        do {
            checkpoint = try JSONDecoder().decode(DiagnosisCheckpoint.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw InputError(file: path, "not a diagnosis checkpoint: \(error.briefDescription)")
        } catch {
            throw InputError(file: path, "not a diagnosis checkpoint: \(error)")
        }
        func refuse(_ problem: String) -> InputError { InputError(file: path, problem) }
        guard checkpoint.format == format else { throw refuse("not a diagnosis checkpoint (format '\(checkpoint.format)')") }
        guard checkpoint.digest == checkpoint.contentDigest() else {
            throw refuse("digest does not match the contents: the checkpoint was edited or damaged")
        }
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
