import ArgumentParser

/// `--limit`: read only the first images of a file.
public struct ImageLimitOptions: ParsableArguments {
    @Option(help: "Use only the first N images.")
    public var limit: Int?

    public init() {}

    public func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    }
}
