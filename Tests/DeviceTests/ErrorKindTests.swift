import HASRuntime
import XCTest

/// Each kind changes exactly the bits spec §3 says, and the exponent bit is
/// uniform over the allowed range.
final class ErrorKindTests: XCTestCase {
    let patterns: [UInt32] = [0x3F80_0000 /* 1.0 */, 0xBF9D_F3B6 /* −1.234 */, 0x0000_0001, 0x7F7F_FFFF, 0x4049_0FDB, 0, 0x8000_0000]

    func testMantissaTruncation() {
        var rng = SplitMix64(seed: 1)
        for bits in patterns + (0..<1000).map({ _ in UInt32(truncatingIfNeeded: rng.next()) }) {
            let draw = rng.next()
            let tf32 = ErrorKind.tf32.corrupt(bits, draw: draw)
            XCTAssertEqual(tf32 & 0x1FFF, 0)
            XCTAssertEqual(tf32 >> 13, bits >> 13)
            let bf16 = ErrorKind.bf16.corrupt(bits, draw: draw)
            XCTAssertEqual(bf16 & 0xFFFF, 0)
            XCTAssertEqual(bf16 >> 16, bits >> 16)
        }
        XCTAssertEqual(ErrorKind.bf16.corrupt(Float(1.2345678), draw: 0), Float(bitPattern: 0x3F9E_0000))
    }

    func testExponentFlipsTouchOneAllowedBit() {
        var rng = SplitMix64(seed: 2)
        for exponentBits in ExponentBits.allCases {
            let allowed = Set((23..<(23 + exponentBits.count)))
            var hits = [Int: Int]()
            for i in 0..<20_000 {
                let bits = i < patterns.count ? patterns[i] : UInt32(truncatingIfNeeded: rng.next())
                let draw = rng.next()
                let chosen = 23 + ErrorKind.exponentBit(draw: draw, exponentBits: exponentBits)
                XCTAssertTrue(allowed.contains(chosen))
                hits[chosen, default: 0] += 1
                let mask = UInt32(1) << UInt32(chosen)
                XCTAssertEqual(ErrorKind.flip0.corrupt(bits, draw: draw, exponentBits: exponentBits), bits & ~mask)
                XCTAssertEqual(ErrorKind.flip1.corrupt(bits, draw: draw, exponentBits: exponentBits), bits | mask)
                XCTAssertEqual(ErrorKind.bitflip.corrupt(bits, draw: draw, exponentBits: exponentBits), bits ^ mask)
            }
            // Every allowed bit, none other; each near 1/count of the draws (±5 sd).
            XCTAssertEqual(Set(hits.keys), allowed)
            let expected = 20_000.0 / Double(exponentBits.count)
            for (_, n) in hits { XCTAssertEqual(Double(n), expected, accuracy: 5 * expected.squareRoot()) }
        }
        // The default is bits 0–6 of the exponent: the sign and bit 30 never change.
        XCTAssertEqual(ExponentBits.low7.count, 7)
        for draw in [UInt64.max, 0, 1 << 63] {
            let v = ErrorKind.bitflip.corrupt(UInt32(0x3F80_0000), draw: draw)
            XCTAssertEqual(v & 0xC000_0000, 0x0000_0000 | (0x3F80_0000 & 0xC000_0000))
        }
        XCTAssertEqual(ErrorKind.flip1.corrupt(UInt32(0x3F80_0000), draw: UInt64.max, exponentBits: .all8), 0x7F80_0000)  // 1.0 → +inf
        XCTAssertEqual(ErrorKind.flip1.corrupt(UInt32(0x3F80_0000), draw: UInt64.max), 0x3F80_0000)  // bit 29 already set
        XCTAssertEqual(ErrorKind.flip0.corrupt(Float(1), draw: 0), Float(bitPattern: 0x3F00_0000))  // clear exponent bit 0: 0.5
    }

    func testPaperRates() {
        XCTAssertEqual(ErrorKind.flip1.paperFRMax, [1e-3, 2e-3, 5e-3])
        XCTAssertEqual(ErrorKind.bitflip.paperFRMax, [1e-3, 2e-3, 5e-3])
        for kind in [ErrorKind.flip0, .tf32, .bf16, .zero] { XCTAssertEqual(kind.paperFRMax, [0.1, 0.2, 0.5]) }
        XCTAssertEqual(ErrorKind.allCases.map(\.rawValue), ["flip0", "flip1", "bitflip", "tf32", "bf16", "zero"])
    }

    /// `zero` is the reference implementation's TF32/BF16 on CPU: every faulty
    /// partial product becomes +0.0, whatever its sign, and NaN/∞ included.
    func testZeroReplacesByPositiveZero() {
        var rng = SplitMix64(seed: 3)
        for bits in patterns + [0x7F80_0000, 0xFF80_0000, 0x7FC0_0001] + (0..<1000).map({ _ in UInt32(truncatingIfNeeded: rng.next()) }) {
            XCTAssertEqual(ErrorKind.zero.corrupt(bits, draw: rng.next()), 0)
        }
        XCTAssertFalse(ErrorKind.zero.choosesExponentBit)
        XCTAssertEqual(ErrorKind.zero.corrupt(Float(-3.5), draw: 0).sign, .plus)
    }
}
