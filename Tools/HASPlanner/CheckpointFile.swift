import Foundation
import HASRuntime

/// The planner's checkpoints (`PlanCheckpoint`, `SensitivityCheckpoint`) on
/// disk: digest-carrying JSON (`DigestedJSON`) written atomically, read with
/// a size limit and one-line `InputError`s naming the file.
enum CheckpointFile {
    /// Largest checkpoint read (a 3-run mnist32 GA writes ~1 MB).
    static let maxBytes = 1 << 28

    /// - Parameter kind: what the file should be, for errors ("has-plan", "sensitivity").
    static func read<T: Codable>(_ type: T.Type, from path: String, kind: String) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(file: path, "no checkpoint to resume from (run without --resume to start)")
        }
        let bytes = try readInputFile(path, maxBytes: maxBytes, what: "checkpoint")
        return try DigestedJSON.decode(type, from: bytes, file: path, kind: "\(kind) checkpoint")
    }

    /// Written to a temporary file and renamed over `path`: never half-written.
    static func write<T: Codable>(_ value: T, to path: String) throws {
        try writeFileAtomically(try DigestedJSON.encode(value), to: path)
    }
}
