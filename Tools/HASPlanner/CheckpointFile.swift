import Foundation
import HASRuntime

/// Reading the planner's checkpoints (`PlanCheckpoint`, `SensitivityCheckpoint`):
/// one-line `InputError`s naming the file, and a size limit before decoding.
enum CheckpointFile {
    /// Largest checkpoint read (a 3-run mnist32 GA writes ~1 MB).
    static let maxBytes = 1 << 28

    /// - Parameter kind: what the file should be, for errors ("has-plan", "sensitivity").
    static func read<T: Decodable>(_ type: T.Type, from path: String, kind: String) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(file: path, "no checkpoint to resume from (run without --resume to start)")
        }
        let bytes = try readInputFile(path, maxBytes: maxBytes, what: "checkpoint")
        do { return try JSONDecoder().decode(type, from: Data(bytes)) } catch let error as DecodingError {
            throw InputError(file: path, "not a \(kind) checkpoint: \(error.briefDescription)")
        } catch {
            throw InputError(file: path, "not a \(kind) checkpoint: \(error)")
        }
    }
}
