/// Where the values of chosen object members lie in a JSON document, and the
/// document with them cut out: large values (a profile's matrices, a
/// checkpoint's content) are then read or hashed apart from the small rest,
/// which `JSONDecoder` reads quickly.
public enum JSONSpans {
    /// The byte ranges of the values of `keys` (paths of object keys from the
    /// top level, e.g. ["rates"], ["origin", "lower"]), or nil when the
    /// document is not a plain object holding each at most once (the caller
    /// then decodes the whole file the slow way, which reports the problem).
    public static func spans(of keys: [[String]], in bytes: UnsafeBufferPointer<UInt8>) -> [[String]: Range<Int>]? {
        var scanner = SpanScanner(bytes: bytes)
        var found: [[String]: Range<Int>] = [:]
        guard scanner.object(path: [], wanted: Set(keys), found: &found) else { return nil }
        scanner.whitespace()
        return scanner.index == bytes.count ? found : nil
    }

    /// `bytes` with each range replaced by `[]` (ranges must not overlap).
    public static func replacing(_ ranges: [Range<Int>], in bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var at = 0
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            out.append(contentsOf: bytes[at..<range.lowerBound])
            out.append(contentsOf: [UInt8(ascii: "["), UInt8(ascii: "]")])
            at = range.upperBound
        }
        out.append(contentsOf: bytes[at...])
        return out
    }
}

/// Finds value spans of chosen keys; skips everything else, checking only
/// what it needs to find the ends of values (strings, brackets).
private struct SpanScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    mutating func whitespace() {
        while index < bytes.count, isJSONSpace(bytes[index]) { index += 1 }
    }

    /// An object at `index` whose members named in `wanted` (as paths) are recorded.
    mutating func object(path: [String], wanted: Set<[String]>, found: inout [[String]: Range<Int>]) -> Bool {
        whitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return false }
        index += 1
        whitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return true }
        while true {
            whitespace()
            guard let keyRange = string() else { return false }
            // A key written with escapes is not one of ours: its value stays for JSONDecoder.
            let key = String(decoding: bytes[keyRange], as: UTF8.self)
            whitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
            index += 1
            whitespace()
            let member = path + [key]
            if wanted.contains(member) {
                let start = index
                guard skipValue(), found[member] == nil else { return false }
                found[member] = start..<index
            } else if wanted.contains(where: { $0.starts(with: member) && $0.count > member.count }),
                      index < bytes.count, bytes[index] == UInt8(ascii: "{") {
                guard object(path: member, wanted: wanted, found: &found) else { return false }
            } else {
                guard skipValue() else { return false }
            }
            whitespace()
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return true }
            return false
        }
    }

    /// A string at `index`; returns its content's range (escapes not decoded).
    mutating func string() -> Range<Int>? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        index += 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): index += 1; return start..<index - 1
            default: index += 1
            }
        }
        return nil
    }

    /// Moves past one value (nested arrays and objects counted, strings skipped whole).
    mutating func skipValue() -> Bool {
        var depth = 0
        repeat {
            whitespace()
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""): guard string() != nil else { return false }
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1; index += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                guard depth > 0 else { return false }
                depth -= 1; index += 1
            case UInt8(ascii: ","), UInt8(ascii: ":"):
                guard depth > 0 else { return false }
                index += 1
            default:
                let start = index
                while index < bytes.count, !",:]}[{\" \t\n\r".utf8.contains(bytes[index]) { index += 1 }
                guard index > start else { return false }
            }
        } while depth > 0
        return true
    }
}

