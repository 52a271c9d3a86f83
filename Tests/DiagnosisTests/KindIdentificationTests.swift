import HASRuntime
import XCTest
@testable import HASDiagnosis

/// Maximum-likelihood identification names the model that produced the evidence.
final class KindIdentificationTests: XCTestCase {
    /// Evidence of `faults` faults of `model` on both diagnostic values in equal numbers.
    func evidence(_ model: FaultModel, faults: Int, seed: UInt64) -> KindEvidence {
        var evidence = KindEvidence()
        var rng = SplitMix64(seed: seed)
        var made = 0
        while made < faults {
            let value = DiagnosticValue.allCases[Int(rng.next() % 2)]
            evidence.samples[value.rawValue] += 100
            let outputs = model.outputs(of: value)
            let output = outputs[Int(rng.next() % UInt64(outputs.count))]
            if output == value.bits { continue }  // invisible: not observed
            evidence.counts[value.rawValue][value.observationIndex(output)] += 1
            made += 1
        }
        return evidence
    }

    func testEveryModelIsIdentifiedFromAFewHundredFaults() {
        for (i, model) in FaultModel.all.enumerated() {
            let found = KindIdentification.identify(evidence(model, faults: 300, seed: UInt64(i)))
            XCTAssertEqual(found.kind, model.kind, "\(model) \(model.accumulation)")
            if model.kind.choosesExponentBit { XCTAssertEqual(found.exponentBits, model.exponentBits, "\(model)") }
            XCTAssertEqual(found.unexplained, 0)
            XCTAssertTrue(found.isConfident, found.summary)
        }
    }

    func testNoFaultMeansNoKind() {
        var empty = KindEvidence()
        empty.samples = [1000, 1000]
        let found = KindIdentification.identify(empty)
        XCTAssertNil(found.kind)
        XCTAssertTrue(found.isConfident)
        XCTAssertTrue(found.summary.hasPrefix("none"))
    }

    /// Two faults cannot tell flip1 from bitflip: reported as uncertain.
    func testTooLittleEvidenceIsUncertain() {
        let found = KindIdentification.identify(evidence(FaultModel(kind: .flip1, exponentBits: .low7, accumulation: .exact),
                                                         faults: 2, seed: 1))
        XCTAssertFalse(found.isConfident, found.summary)
        XCTAssertTrue(found.summary.hasSuffix("(uncertain)"), found.summary)
    }

    func testAnOutputNoKindGivesIsCountedUnexplained() {
        var e = evidence(FaultModel(kind: .tf32, exponentBits: .low7, accumulation: .exact), faults: 300, seed: 3)
        let value = DiagnosticValue.highExponent
        e.counts[value.rawValue][value.observations.count] += 5  // "other"
        let found = KindIdentification.identify(e)
        XCTAssertEqual(found.kind, .tf32)
        XCTAssertEqual(found.unexplained, 5)
        XCTAssertFalse(found.isConfident)
    }
}
