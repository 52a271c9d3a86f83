import Foundation
import XCTest

/// Data files the tests read, found from this file's path (no bundled resources).
enum TestData {
    /// The package root: Tests/TrainingTests/TestData.swift → ../..
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// MNIST as shipped beside the project (../shared/datasets/mnist).
    static let mnist = packageRoot.appendingPathComponent("../shared/datasets/mnist").standardized.path
    /// Fashion-MNIST from Debian's dataset-fashion-mnist.
    static let fashion = "/usr/share/datasets/fashion-mnist"

    static func model(_ name: String) -> String {
        packageRoot.appendingPathComponent("Models/\(name).zip").path
    }

    /// The path of `file` in `directory`, failing the test (not skipping it) when it is missing.
    static func require(_ directory: String, _ file: String, hint: String,
                        testFile: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = directory + "/" + file
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(path) is missing: \(hint)", file: testFile, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }
}
