import Foundation

/// Runs one of this package's executables as a child process whose private
/// memory is capped (`ulimit -d`, RLIMIT_DATA: heap and anonymous mappings on
/// Linux), so that a test can show a piece of work never allocates more than
/// the cap: the child fails to allocate and crashes instead of finishing. The
/// test process's own peak (`ru_maxrss`) cannot show that: it is a high-water
/// mark over every earlier test, and a child's inherits its parent's.
enum MemoryLimitedChild {
    struct Result { var status: Int32; var exitedNormally: Bool; var stderr: String }

    /// The built products (the test bundle sits beside them).
    static var productsDirectory: URL {
        Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }.map { $0.bundleURL.deletingLastPathComponent() }
            ?? Bundle.main.bundleURL
    }

    static func run(_ tool: String, _ arguments: [String], limitMegabytes: Int) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The cap is set in the shell, then the tool replaces it (exec): the cap is the tool's alone.
        process.arguments = ["-c", "ulimit -d \(limitMegabytes * 1024) && exec \"$0\" \"$@\"",
                             productsDirectory.appendingPathComponent(tool).path] + arguments
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("child-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, exitedNormally: process.terminationReason == .exit,
                      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
