import Foundation

/// A fault rate in the fingerprint's fixed decimal form, C's `%.9e` (10
/// significant digits, correctly rounded), without going through a formatter.
///
/// Why: a 2²⁰-PE profile holds a million rates, each rounded to this form when
/// it is loaded and written again for the fingerprint; through
/// `String(format:)` that alone took seconds. The fast path below gives the
/// same digits whenever it applies and defers to the C library otherwise
/// (tested against `String(format: "%.9e")` on random and edge values).
enum CanonicalRate {
    /// 10^0 … 10^22: exactly representable as Double.
    static let powers: [Double] = (0...22).map { pow(10, Double($0)) }

    /// p = digits · 10^(exponent − 9) rounded to 10 significant digits, with
    /// 10⁹ ≤ digits < 10¹⁰; nil when the fast path cannot decide (a tie within
    /// the product's rounding error, or p outside [1e-13, 1]).
    @inline(__always)
    static func decimal(_ p: Double) -> (digits: UInt64, exponent: Int)? {
        guard p >= 1e-13, p <= 1 else { return nil }
        // floor(log10 p) from the binary exponent, off by at most one (corrected below).
        var exponent = Int((Double(p.exponent) * 0.301029995663981).rounded(.down))
        for _ in 0..<2 {
            let scale = 9 - exponent
            guard scale >= 0, scale <= 22 else { return nil }
            // One rounding (10^scale is exact): x < 2^34 is within 2^-20 of p·10^scale.
            let x = p * powers[scale]
            let floor = x.rounded(.down), fraction = x - floor
            guard abs(fraction - 0.5) > 1e-5 else { return nil }
            var digits = UInt64(floor) + (fraction > 0.5 ? 1 : 0)
            if digits < 1_000_000_000 { exponent -= 1; continue }  // log10 rounded up
            if digits >= 10_000_000_000 {
                // 9.9999999996e-k rounds up to 1.000000000e-(k-1); or log10 rounded down.
                if digits == 10_000_000_000 && floor == 9_999_999_999 { return (1_000_000_000, exponent + 1) }
                exponent += 1
                continue
            }
            digits = min(digits, 9_999_999_999)
            return (digits, exponent)
        }
        return nil
    }

    /// `%.9e` of p (≥ 0), as bytes appended to `text`.
    static func append(_ p: Double, to text: inout [UInt8]) {
        guard p != 0, let (digits, exponent) = decimal(p) else {
            text.append(contentsOf: (p == 0 ? "0.000000000e+00" : slow(p)).utf8)
            return
        }
        // d.ddddddddde±XX without intermediate strings (a million of these per large profile).
        var d = digits, divisor: UInt64 = 1_000_000_000
        text.append(UInt8(48 + d / divisor))
        text.append(UInt8(ascii: "."))
        for _ in 0..<9 {
            d %= divisor
            divisor /= 10
            text.append(UInt8(48 + d / divisor))
        }
        text.append(UInt8(ascii: "e"))
        text.append(UInt8(ascii: exponent < 0 ? "-" : "+"))
        let e = abs(exponent)
        text.append(UInt8(48 + e / 10))
        text.append(UInt8(48 + e % 10))
    }

    /// `%.9e` of p, as a string.
    static func text(_ p: Double) -> String {
        var bytes: [UInt8] = []
        append(p, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The Double nearest to `text(p)`: digits / 10^(9 − exponent) is one
    /// correctly rounded division of two exact Doubles (Clinger's fast path).
    static func value(_ p: Double) -> Double {
        if p == 0 { return 0 }
        if let (digits, exponent) = decimal(p) {
            return Double(digits) / powers[9 - exponent]
        }
        return Double(slow(p))!
    }

    /// The C library's `%.9e`: the definition the fast path reproduces.
    static func slow(_ p: Double) -> String {
        String(format: "%.9e", p)
    }
}
