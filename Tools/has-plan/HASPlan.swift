import ArgumentParser

/// `has-plan`: the offline planner and the layer-sensitivity analysis.
@main
struct HASPlan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "has-plan",
        abstract: "Plan row permutations for a faulty device, or analyse layer sensitivity.",
        subcommands: [PlanCommand.self, CompareCommand.self, SensitivityCommand.self, RangesCommand.self],
        defaultSubcommand: PlanCommand.self
    )
}
