import HASRuntime
import XCTest
@testable import HASDiagnosis

/// The diagnostic values reveal every kind's faults, and the observation
/// tables hold every wrong output any fault model can give.
final class DiagnosticValueTests: XCTestCase {
    func model(_ kind: ErrorKind, _ bits: ExponentBits = .low7, _ accumulation: FaultModel.Accumulation = .exact) -> FaultModel {
        FaultModel(kind: kind, exponentBits: bits, accumulation: accumulation)
    }

    func testValuesAreTheDocumentedBitPatterns() {
        XCTAssertEqual(DiagnosticValue.lowExponent.value, 1.9999999)
        XCTAssertEqual(DiagnosticValue.highExponent.value, 3.9999998)
        XCTAssertEqual(DiagnosticValue.lowExponent.value.exponentBitPattern, 0b0111_1111)
        XCTAssertEqual(DiagnosticValue.highExponent.value.exponentBitPattern, 0b1000_0000)
        for value in DiagnosticValue.allCases { XCTAssertEqual(value.bits & 0x7F_FFFF, 0x7F_FFFF) }
    }

    /// A flip-to-1 of a bit already set (or to 0 of a bit already clear) changes nothing:
    /// each value reveals what the other hides.
    func testVisibilityPerKind() {
        let (low, high) = (DiagnosticValue.lowExponent, DiagnosticValue.highExponent)
        XCTAssertEqual(low.visibility(model(.flip1)), 0)
        XCTAssertEqual(high.visibility(model(.flip1)), 1)
        XCTAssertEqual(low.visibility(model(.flip0)), 1)
        XCTAssertEqual(high.visibility(model(.flip0)), 0)
        XCTAssertEqual(low.visibility(model(.flip1, .all8)), 1.0 / 8)
        XCTAssertEqual(high.visibility(model(.flip1, .all8)), 7.0 / 8)
        XCTAssertEqual(low.visibility(model(.flip0, .all8)), 7.0 / 8)
        for kind in [ErrorKind.bitflip, .tf32, .bf16] {
            for value in DiagnosticValue.allCases {
                XCTAssertEqual(value.visibility(model(kind)), 1, "\(kind) on \(value)")
                XCTAssertEqual(value.visibility(model(kind, .low7, .corrected)), 1, "\(kind) on \(value), corrected")
            }
        }
    }

    func testEveryModelsOutputsAreInTheTables() {
        for model in FaultModel.all {
            for value in DiagnosticValue.allCases {
                for output in model.outputs(of: value) where output != value.bits {
                    XCTAssertLessThan(value.observationIndex(output), value.observations.count, "\(model) on \(value)")
                }
            }
        }
        XCTAssertEqual(DiagnosticValue.lowExponent.observationIndex(0x1234_5678), DiagnosticValue.lowExponent.observations.count)
    }

    /// The simulator adds P̃ − P to the clean output; for a tiny P̃ that is not P̃ itself.
    func testCorrectedAccumulationDiffersFromExactWhereFloatRoundingBites() {
        let exact = model(.flip0).outputs(of: .lowExponent), corrected = model(.flip0, .low7, .corrected).outputs(of: .lowExponent)
        // Clearing exponent bit 6 of 1.9999999 gives ~2⁻⁶³; 1.9999999 + (2⁻⁶³ − 1.9999999) rounds to 0.
        XCTAssertEqual(Float(bitPattern: exact[6]), Float(bitPattern: 0x1FFF_FFFF))
        XCTAssertEqual(corrected[6], 0)
        XCTAssertNotEqual(exact, corrected)
    }

    func testWilsonIntervalWithContinuityCorrection() {
        let z = BinomialInterval.z(confidence: 0.95)
        XCTAssertEqual(z, 1.959963984540054, accuracy: 1e-12)
        // Newcombe (1998), table I, method 4: 81/263 → 0.2535–0.3682; 0/20 → 0–0.2005.
        let a = BinomialInterval.wilson(successes: 81, trials: 263, z: z)
        XCTAssertEqual(a.lower, 0.2535, accuracy: 5e-5)
        XCTAssertEqual(a.upper, 0.3682, accuracy: 5e-5)
        let b = BinomialInterval.wilson(successes: 0, trials: 20, z: z)
        XCTAssertEqual(b.lower, 0)
        XCTAssertEqual(b.upper, 0.2005, accuracy: 5e-5)
        XCTAssertTrue(BinomialInterval.wilson(successes: 0, trials: 0, z: z) == (0, 1))
    }
}
