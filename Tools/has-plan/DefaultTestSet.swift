import ArgumentParser
import Foundation

/// The test set has-plan uses when no --images/--labels are given: the
/// MNIST or Fashion-MNIST t10k files matching the model's name, looked up in
/// `$HAS_DATASETS/<set>`, then `../shared/datasets/<set>` (relative to the
/// current directory), then, for Fashion-MNIST, where Debian's
/// dataset-fashion-mnist package installs it. No machine's own paths.
enum DefaultTestSet {
    static let environmentVariable = "HAS_DATASETS"

    /// For the commands' help.
    static let help = """
        Without --images and --labels, the model's MNIST or Fashion-MNIST test set (t10k) is read \
        from $HAS_DATASETS/<set>, ../shared/datasets/<set> or, for Fashion-MNIST, Debian's \
        dataset-fashion-mnist package (<set>: mnist or fashion-mnist).
        """

    /// Folders searched for data set `name`, in order.
    static func directories(for name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var roots = ["../shared/datasets"]
        if let root = environment[environmentVariable], !root.isEmpty { roots.insert(root, at: 0) }
        var directories = roots.map { "\($0)/\(name)" }
        if name == "fashion-mnist" { directories.append("/usr/share/datasets/fashion-mnist") }
        return directories
    }

    /// (images, labels) of the test set matching `modelName`.
    /// - Throws: `ValidationError` when the model matches no data set or its files are not found.
    static func files(for modelName: String) throws -> (images: String, labels: String) {
        let lower = modelName.lowercased()
        let name = lower.contains("fashion") ? "fashion-mnist" : lower.contains("mnist") ? "mnist" : nil
        guard let name else {
            throw ValidationError("no default data set for model '\(modelName)'; give --images and --labels")
        }
        let directories = directories(for: name)
        for dir in directories {
            for suffix in [".gz", ""] {
                let i = "\(dir)/t10k-images-idx3-ubyte\(suffix)", l = "\(dir)/t10k-labels-idx1-ubyte\(suffix)"
                if FileManager.default.fileExists(atPath: i), FileManager.default.fileExists(atPath: l) { return (i, l) }
            }
        }
        throw ValidationError("the test set for '\(modelName)' was not found in \(directories.joined(separator: " or ")) "
                              + "(set \(environmentVariable) to the folder holding \(name)/); give --images and --labels")
    }
}
