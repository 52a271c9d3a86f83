@testable import HASRuntime
import Foundation
import XCTest

/// The profile's fast `%.9e` (CanonicalRate) against the C library's, digit for
/// digit, and its value against parsing that text.
final class CanonicalRateTests: XCTestCase {
    func check(_ p: Double, file: StaticString = #filePath, line: UInt = #line) {
        let expected = String(format: "%.9e", p)
        XCTAssertEqual(CanonicalRate.text(p), expected, "\(p.bitPattern)", file: file, line: line)
        XCTAssertEqual(CanonicalRate.value(p).bitPattern, Double(expected)!.bitPattern, "\(expected)", file: file, line: line)
    }

    func testRandomRatesAgreeWithTheCLibrary() {
        var rng = SplitMix64(seed: 11)
        for i in 0..<200_000 {
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            switch i % 4 {
            case 0: check(u)
            case 1: check(u * 0.005)
            case 2: check(Double(bitPattern: rng.next() % 0x3FF0_0000_0000_0001))  // any double in [0, 1]
            default: check(Double(rng.next() % 1_000_001) / 1e6)  // short decimals, many ties near .5
            }
        }
    }

    func testEdgeValues() {
        var values: [Double] = [0, 1, 0.5, 0.1, 0.2, 0.3, 1e-13, 1e-14, 9.99999999995e-14, .leastNonzeroMagnitude,
                                .leastNormalMagnitude, 1.0.nextDown, 0.001, 0.005, 2.5e-10]
        // Around every power of ten in range, and the values that round up to the next one.
        for e in 1...13 {
            let power = pow(10.0, -Double(e))
            values += [power, power.nextUp, power.nextDown, 9.9999999995 * power / 10, 9.99999999949 * power / 10,
                       9.99999999951 * power / 10, 1.0000000005 * power, 1.00000000049 * power, 1.00000000051 * power]
        }
        for p in values { check(p) }
        XCTAssertEqual(CanonicalRate.text(0), "0.000000000e+00")
        XCTAssertEqual(CanonicalRate.text(1), "1.000000000e+00")
    }
}
