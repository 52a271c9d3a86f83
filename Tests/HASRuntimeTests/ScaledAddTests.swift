import HASRuntime
import XCTest

/// `addScaled` is Swift's `y[i] += x[i] * d` (product rounded, then the add) on
/// every instruction-set variant, for every length's vector body and tail.
final class ScaledAddTests: XCTestCase {
    func testEveryVariantEqualsTheUnfusedLoop() throws {
        var rng = SplitMix64(seed: 17)
        for isa in KernelISA.supported {
            for n in [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 1024, 1029] {
                // Magnitudes spread over many exponents, so a fused multiply-add would differ somewhere.
                let x = (0..<n).map { _ in rng.nextSignedUnit() * Float(1 << (rng.next() % 20)) }
                let start = (0..<n).map { _ in rng.nextSignedUnit() * Float(1 << (rng.next() % 20)) }
                let d = rng.nextSignedUnit() * 3.7
                var expected = start
                for i in 0..<n { expected[i] += x[i] * d }
                var got = start + [42]  // one element past the end, which must stay
                try KernelISA.with(isa) {
                    x.withUnsafeBufferPointer { xp in
                        got.withUnsafeMutableBufferPointer { addScaled(xp.baseAddress ?? UnsafePointer(bitPattern: 8)!, by: d, to: $0.baseAddress!, count: n) }
                    }
                }
                XCTAssertEqual(got.map(\.bitPattern), (expected + [42]).map(\.bitPattern), "\(isa), n = \(n)")
                var fused = start
                for i in 0..<n { fused[i] = fused[i].addingProduct(x[i], d) }
                if n >= 1024 { XCTAssertNotEqual(fused.map(\.bitPattern), expected.map(\.bitPattern), "the data should tell fused from unfused") }
            }
        }
    }
}
