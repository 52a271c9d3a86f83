// swift-tools-version:6.0
import PackageDescription

// Layout: Sources/ is the runtime (library + has-run); Tools/ holds the offline
// tools, each a thin executable over its own library target. The runtime never
// imports the planner, the diagnosis logic or the trainer.
let package = Package(
    name: "HAS",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "HASRuntime", targets: ["HASRuntime"]),
        .executable(name: "has-run", targets: ["has-run"]),
        .executable(name: "has-plan", targets: ["has-plan"]),
        .executable(name: "has-diagnose", targets: ["has-diagnose"]),
        .executable(name: "has-train", targets: ["has-train"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
    ],
    targets: [
        // System libraries from Debian (-dev packages).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // The SGEMM micro-kernel: C because Swift cannot compile one function for
        // AVX2+FMA and pick it at run time (no per-function target attribute).
        .target(
            name: "HASKernels",
            path: "Sources/HASKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-fast-math"])]
        ),
        // PNG decoding through libpng's full API: C, because libpng reports errors by longjmp.
        .target(name: "HASPNG", dependencies: ["CPNG"], path: "Sources/HASPNG"),
        .target(
            name: "HASRuntime",
            dependencies: [
                "CZlib", "CPNG", "HASKernels", "HASPNG",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/HASRuntime"
        ),
        // Options and helpers the command-line tools share (--model, --images/--labels, --threads).
        .target(
            name: "HASCommandLine",
            dependencies: ["HASRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/HASCommandLine"
        ),
        .executableTarget(
            name: "has-run",
            dependencies: ["HASCommandLine", "HASRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/has-run"
        ),
        // Offline libraries: the trainer, the planner (GA, assignment, sensitivity
        // analysis) and the diagnosis logic. Tests call them directly.
        .target(
            name: "HASTraining",
            dependencies: ["HASRuntime", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tools/HASTraining"
        ),
        .target(name: "HASPlanner", dependencies: ["HASRuntime", "HASDiagnosis"], path: "Tools/HASPlanner"),
        .target(name: "HASDiagnosis", dependencies: ["HASRuntime"], path: "Tools/HASDiagnosis"),
        .executableTarget(
            name: "has-train",
            dependencies: ["HASCommandLine", "HASTraining", "HASRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/has-train"
        ),
        .executableTarget(
            name: "has-plan",
            dependencies: ["HASCommandLine", "HASPlanner", "HASDiagnosis", "HASRuntime",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/has-plan"
        ),
        .executableTarget(
            name: "has-diagnose",
            dependencies: ["HASDiagnosis", "HASRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/has-diagnose"
        ),
        .executableTarget(
            name: "has-bench",
            dependencies: ["HASCommandLine", "HASDiagnosis", "HASRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/has-bench"
        ),
        // Fuzz targets for every parser (Tools/scripts/fuzz.sh builds them with libFuzzer
        // and AddressSanitizer; a normal build replays inputs). The driver shim is C
        // because libFuzzer's entry point is a C function.
        .target(name: "CFuzzDriver", path: "Tools/CFuzzDriver"),
        .executableTarget(
            name: "has-fuzz",
            dependencies: ["CFuzzDriver", "HASCommandLine", "HASDiagnosis", "HASPlanner", "HASRuntime",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/has-fuzz"
        ),
        // CZlib: BundleTests deflate zip-bomb fixtures in a streaming way; has-run: the
        // zip-bomb memory check runs it as a memory-capped child. Fixtures are found through #filePath.
        .testTarget(
            name: "HASRuntimeTests",
            dependencies: ["HASRuntime", "CZlib", "CPNG", "has-run"],
            path: "Tests/HASRuntimeTests",
            exclude: ["Fixtures"]
        ),
        // Helpers and the independent fault reference shared by the test targets.
        .target(name: "HASTestSupport", dependencies: ["HASRuntime"], path: "Tests/HASTestSupport"),
        .testTarget(name: "DeviceTests", dependencies: ["HASRuntime", "HASDiagnosis", "HASTestSupport"], path: "Tests/DeviceTests"),
        .testTarget(name: "TrainingTests", dependencies: ["HASTraining", "HASRuntime"], path: "Tests/TrainingTests"),
        .testTarget(name: "PlannerTests", dependencies: ["HASPlanner", "HASDiagnosis", "HASRuntime", "HASTestSupport"],
                    path: "Tests/PlannerTests"),
        .testTarget(name: "DiagnosisTests", dependencies: ["HASDiagnosis", "HASRuntime"], path: "Tests/DiagnosisTests"),
        .testTarget(
            name: "CLITests",
            dependencies: ["HASRuntime", "HASDiagnosis", "has-run", "has-plan", "has-diagnose", "has-train", "has-bench", "has-fuzz"],
            path: "Tests/CLITests"
        ),
    ],
    // Language mode 5: the numeric code hands unsafe buffers to worker threads
    // (split so that no two threads write the same element), which Swift 6's
    // Sendable checking cannot express without wrapping every pointer.
    swiftLanguageModes: [.v5]
)
