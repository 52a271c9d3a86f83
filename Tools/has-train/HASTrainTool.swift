import ArgumentParser

/// `has-train`: training (the default subcommand) and post-training rescaling.
@main
struct HASTrainTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "has-train",
        abstract: "Train the spec's models and write model bundles.",
        subcommands: [HASTrain.self, RescaleCommand.self],
        defaultSubcommand: HASTrain.self
    )
}
