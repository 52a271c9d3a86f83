import ArgumentParser
import Foundation
import HASRuntime

/// `--model`: a model bundle, as every tool that runs one takes it.
public struct ModelOptions: ParsableArguments {
    @Option(help: "Model bundle: a .zip file, or its path without the .zip extension.")
    public var model: String

    public init() {}

    /// The bundle's file: `--model` as given, or with `.zip` added when only that exists.
    public var path: String { LoadedModel.resolve(model) }

    /// The bundle read, validated and bound into a network.
    public func load() throws -> LoadedModel { try LoadedModel(path: path) }
}

/// A model bundle and the network built from it.
public struct LoadedModel {
    /// The bundle's file (after `.zip` resolution).
    public let path: String
    public let bundle: ModelBundle
    public let network: Network

    /// Reads `path` (or `path.zip` when only that exists).
    /// - Throws: `InputError` naming the file when it is unreadable or not a valid bundle.
    public init(path: String) throws {
        self.path = LoadedModel.resolve(path)
        bundle = try ModelBundle.load(from: self.path)
        network = try Network(manifest: bundle.manifest, tensors: bundle.tensors, file: self.path)
    }

    /// `NAME` names `NAME.zip` when there is no file `NAME`.
    public static func resolve(_ path: String) -> String {
        let files = FileManager.default
        return !files.fileExists(atPath: path) && files.fileExists(atPath: path + ".zip") ? path + ".zip" : path
    }
}
