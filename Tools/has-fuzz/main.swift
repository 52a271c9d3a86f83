import ArgumentParser
import CFuzzDriver
import Foundation
import HASRuntime

/// `has-fuzz`: the parsers' fuzz targets (docs/design.md, "Trust model").
/// Built normally it replays files through a target; built by
/// Tools/scripts/fuzz.sh (libFuzzer + AddressSanitizer) it fuzzes.
struct HASFuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "has-fuzz",
        abstract: "Fuzz (or replay inputs through) one of the parsers' targets.",
        discussion: "Targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")).",
        subcommands: [Run.self, Seeds.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a target: libFuzzer's driver in a fuzz build, a replay of the named files otherwise.")

        @Argument(help: "The target.")
        var target: String

        @Argument(parsing: .captureForPassthrough, help: "libFuzzer's flags and corpus folders (or files to replay).")
        var fuzzerArguments: [String] = []

        func run() throws {
            guard let chosen = FuzzTarget(rawValue: target) else {
                throw ValidationError("unknown target '\(target)' (known: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            FuzzSession.start(chosen, try FuzzFixtures())
            let arguments = ["has-fuzz", "-max_len=\(chosen.maxLength)"] + fuzzerArguments
            var argc = Int32(arguments.count)
            var cStrings: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            let status = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
                var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
                return has_fuzz_run(&argc, &argv) { data, count in
                    FuzzSession.exercise(data.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? [])
                    return 0
                }
            }
            FuzzSession.finish()
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Seeds: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the starting corpus, one folder per target.")

        @Argument(help: "The corpus folder.")
        var directory: String

        func run() throws {
            let fixtures = try FuzzFixtures()
            defer { try? FileManager.default.removeItem(atPath: fixtures.scratch) }
            try SeedCorpus.write(to: directory, fixtures: fixtures)
        }
    }
}

/// The one target a process fuzzes: libFuzzer's callback is a C function
/// pointer and cannot capture it.
enum FuzzSession {
    nonisolated(unsafe) private static var target: FuzzTarget?
    nonisolated(unsafe) private static var fixtures: FuzzFixtures?
    /// HAS_FUZZ_VERBOSE=1: print each refusal (to check that seeds are accepted).
    private static let verbose = ProcessInfo.processInfo.environment["HAS_FUZZ_VERBOSE"] == "1"

    static func start(_ chosen: FuzzTarget, _ made: FuzzFixtures) { (target, fixtures) = (chosen, made) }

    static func finish() {
        if let fixtures { try? FileManager.default.removeItem(atPath: fixtures.scratch) }
    }

    /// One input; a refusal must be a one-line `InputError`, anything else traps.
    static func exercise(_ bytes: [UInt8]) {
        guard let target, let fixtures else { fatalError("has-fuzz: no target chosen") }
        do {
            try target.exercise(bytes, fixtures)
        } catch let error as InputError {
            if error.problem.isEmpty || error.description.contains(where: \.isNewline) {
                fatalError("has-fuzz \(target.rawValue): an unclear error: \(error.description.debugDescription)")
            }
            if verbose { FileHandle.standardError.write(Data("refused: \(error)\n".utf8)) }
        } catch {
            fatalError("has-fuzz \(target.rawValue): an error that is not a one-line InputError: \(String(reflecting: error))")
        }
    }
}

HASFuzz.main()
