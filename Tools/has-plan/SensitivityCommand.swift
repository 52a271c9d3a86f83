import ArgumentParser
import Foundation

/// `has-plan sensitivity …`: per-layer fault sensitivity. Not built yet.
struct SensitivityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sensitivity", abstract: "Layer sensitivity analysis (not available yet).")
    func run() throws {
        FileHandle.standardError.write(Data("has-plan: sensitivity analysis is not available yet\n".utf8))
        throw ExitCode(2)
    }
}
