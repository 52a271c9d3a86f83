import ArgumentParser
import Foundation

/// `has-plan [plan] …`: search permutations for a device profile. Not built yet.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Plan permutations (not available yet).")
    func run() throws {
        FileHandle.standardError.write(Data("has-plan: planning is not available yet\n".utf8))
        throw ExitCode(2)
    }
}
