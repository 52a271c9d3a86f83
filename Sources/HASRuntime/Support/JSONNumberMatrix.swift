import Foundation

/// Fast reading of the large numeric matrices of a JSON file (a profile's
/// `rates`, a diagnosed profile's counts and bounds: up to 2^20 numbers each).
///
/// Foundation's decoder builds a value per number and takes about a second
/// per 10 MB, so a damaged 50 MB profile took seconds to refuse. Instead,
/// `JSONSpans` finds where the matrices are, the small rest of the file goes
/// through `JSONDecoder` with each matrix replaced by `[]`, and each matrix
/// is parsed here: strictly (RFC 8259 numbers only), with its expected
/// shape known beforehand so that a wrong row stops the parse at once.
public enum JSONNumberMatrix {
    /// Parses `[[n, n, …], …]` with exactly `rows` rows of `columns` numbers.
    /// The strings "NaN", "Infinity" and "-Infinity" are taken as those values
    /// (for the caller's range check to name the entry).
    /// - Returns: the matrix, or the first problem ("origin lower[3] has 7
    ///   entries but …", "rates[2][5] is not a JSON number at byte 812").
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, rows: Int, columns: Int,
                             name: String) -> Result<[[Double]], Problem> {
        var p = NumberParser(bytes: bytes, index: range.lowerBound, end: range.upperBound)
        func fail(_ text: String) -> Result<[[Double]], Problem> { .failure(Problem(text: text)) }
        var matrix: [[Double]] = []
        matrix.reserveCapacity(min(rows, 1 << 16))
        guard p.take(UInt8(ascii: "[")) else { return fail("\(name) is not a list of rows") }
        if !p.take(UInt8(ascii: "]")) {
            repeat {
                let s = matrix.count
                guard s < rows else { return fail("\(name) has more than \(rows) rows but the geometry has \(rows) blocks") }
                guard p.take(UInt8(ascii: "[")) else { return fail("\(name)[\(s)] is not a list of numbers (byte \(p.index))") }
                var row: [Double] = []
                row.reserveCapacity(columns)
                if !p.take(UInt8(ascii: "]")) {
                    repeat {
                        guard row.count < columns else {
                            return fail("\(name)[\(s)] has more than \(columns) entries but the geometry has \(columns) threads per block")
                        }
                        guard let value = p.number() else {
                            return fail("\(name)[\(s)][\(row.count)] is not a JSON number (byte \(p.index))")
                        }
                        row.append(value)
                    } while p.take(UInt8(ascii: ","))
                    guard p.take(UInt8(ascii: "]")) else { return fail("\(name)[\(s)] is not closed by ] (byte \(p.index))") }
                }
                guard row.count == columns else {
                    return fail("\(name)[\(s)] has \(row.count) entries but the geometry has \(columns) threads per block")
                }
                matrix.append(row)
            } while p.take(UInt8(ascii: ","))
            guard p.take(UInt8(ascii: "]")) else { return fail("\(name) is not closed by ] (byte \(p.index))") }
        }
        guard matrix.count == rows else { return fail("\(name) has \(matrix.count) rows but the geometry has \(rows) blocks") }
        p.whitespace()
        guard p.index == range.upperBound else { return fail("\(name) is followed by something else (byte \(p.index))") }
        return .success(matrix)
    }

    public struct Problem: Error { public var text: String }
}

@inline(__always) func isJSONSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

/// Strict RFC 8259 numbers, converted by `strtod` (correctly rounded, as Foundation's).
private struct NumberParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    let end: Int

    mutating func whitespace() {
        while index < end, isJSONSpace(bytes[index]) { index += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        whitespace()
        guard index < end, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private func digit(_ i: Int) -> Bool { i < end && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") }

    mutating func number() -> Double? {
        whitespace()
        let start = index
        if index < end, bytes[index] == UInt8(ascii: "\"") {
            for (text, value) in [("\"NaN\"", Double.nan), ("\"Infinity\"", .infinity), ("\"-Infinity\"", -.infinity)]
            where end - index >= text.utf8.count && bytes[index..<index + text.utf8.count].elementsEqual(text.utf8) {
                index += text.utf8.count
                return value
            }
            return nil
        }
        var i = index
        if i < end, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { return nil }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { while digit(i) { i += 1 } }
        if i < end, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        if i < end, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < end, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digit(i) else { return nil }
            while digit(i) { i += 1 }
        }
        // A number ends at a delimiter ("01" or "0x1" is not a number followed by more).
        guard i == end || isJSONSpace(bytes[i]) || bytes[i] == UInt8(ascii: ",") || bytes[i] == UInt8(ascii: "]") else { return nil }
        index = i
        let length = i - start
        // strtod needs a terminated string: copy the token (numbers in these files are short).
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for k in 0..<length { buffer[k] = CChar(bitPattern: bytes[start + k]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }
}
