import Foundation
import XCTest

/// The diagnosis library works through `TiledGEMMDevice` alone: its sources
/// never name the simulated device, nor read a profile's rates (it only writes
/// profiles). `SimulatedDevice` keeps its profile private besides, so this
/// holds for any code handed a device.
final class DiagnosisIsolationTests: XCTestCase {
    func testDiagnosisSourcesNeverReachTheTrueRates() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tools/HASDiagnosis")
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".swift") }
        XCTAssertGreaterThan(files.count, 5, "found the diagnosis sources at \(root.path)")
        for file in files {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            for forbidden in ["SimulatedDevice", ".rates", "rate(block:", "FaultInjector", "FaultSampler"] {
                XCTAssertFalse(text.contains(forbidden), "\(file) mentions \(forbidden)")
            }
        }
    }
}
