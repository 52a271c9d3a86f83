import ArgumentParser
import HASRuntime

/// `--threads`: worker threads, which never change a result.
public struct ThreadOptions: ParsableArguments {
    @Option(help: "Worker threads (default: all cores). Results do not depend on it.")
    public var threads: Int?

    public init() {}

    public func validate() throws {
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be between 1 and 256") }
    }

    /// `--threads`, or all cores.
    public var count: Int { threads ?? Parallelism.threads }
}
