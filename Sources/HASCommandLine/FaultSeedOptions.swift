import ArgumentParser

/// `--seed`: the seed of the simulated device's fault draws (not of its rates).
public struct FaultSeedOptions: ParsableArguments {
    @Option(help: "Seed of the fault draws: trial i draws with seed S + i.")
    public var seed: UInt64 = 0

    public init() {}
}
