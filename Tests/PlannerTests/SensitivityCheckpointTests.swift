import HASPlanner
import HASRuntime
import XCTest

/// A sensitivity checkpoint whose cells this analysis could not have written is
/// refused even when its digest is right (an edited file re-digested, a bug).
final class SensitivityCheckpointTests: XCTestCase {
    let configuration = SensitivityAnalysis.Configuration(
        layerGroups: [["c0"], ["c0", "h0"]], kinds: [.flip1, .zero], frMax: [.flip1: [0.001, 0.005], .zero: [0.5]],
        deviceSeeds: [1, 2], trials: 2, blocks: 4, threads: 8)

    func checkpoint(_ cells: [SensitivityAnalysis.Cell], elapsed: Double = 3) -> SensitivityCheckpoint {
        let key = SensitivityCheckpoint.Key(model: "m", weightsDigest: "d", images: "i", imageCount: 40, configuration: configuration)
        return SensitivityCheckpoint(key: key, cells: cells, elapsedSeconds: elapsed)
    }

    func cell(layers: [String] = ["c0"], kind: ErrorKind = .flip1, frMax: Double = 0.005, seed: UInt64 = 2,
              accuracies: [Double] = [0.75, 0.8], clean: Double = 0.975) -> SensitivityAnalysis.Cell {
        SensitivityAnalysis.Cell(layers: layers, kind: kind, frMax: frMax, deviceSeed: seed, fingerprint: "f",
                                 accuracies: accuracies, cleanAccuracy: clean)
    }

    func testCellsOfThisAnalysisPass() {
        XCTAssertNil(checkpoint([cell(), cell(layers: ["c0", "h0"], kind: .zero, frMax: 0.5, seed: 1)]).problem())
    }

    func testImpossibleCellsAreNamed() {
        let cases: [(SensitivityCheckpoint, String)] = [
            (checkpoint([cell(accuracies: [5.0, 0.8])]), "not a share of 40 images"),
            (checkpoint([cell(accuracies: [0.7501, 0.8])]), "not a share of 40 images"),
            (checkpoint([cell(clean: .nan)]), "not a share of 40 images"),
            (checkpoint([cell(accuracies: [])]), "has 0 trials, not 2"),
            (checkpoint([cell(), cell()]), "appears twice"),
            (checkpoint([cell(layers: ["h0"])]), "not part of this analysis"),
            (checkpoint([cell(kind: .bitflip)]), "not part of this analysis"),
            (checkpoint([cell(frMax: 0.002)]), "not part of this analysis"),
            (checkpoint([cell(seed: 3)]), "not part of this analysis"),
            (checkpoint([cell()], elapsed: -1), "is not a duration"),
        ]
        for (c, expected) in cases {
            let problem = c.problem() ?? "accepted"
            XCTAssertTrue(problem.contains(expected), "\(problem) (expected: \(expected))")
        }
    }
}
