import Foundation

/// What Foundation's JSON parser accepts beyond RFC 8259 and our files must
/// not contain: a trailing comma before `}` or `]` (docs/design.md, "Trust
/// model": a file either is the format or is refused).
public enum StrictJSON {
    /// The first departure from strict JSON that the decoder would let pass,
    /// with its byte offset; nil if there is none. One pass over the bytes.
    public static func problem(in data: Data) -> String? {
        data.withUnsafeBytes { raw -> String? in
            let bytes = raw.bindMemory(to: UInt8.self)
            var inString = false, escaped = false
            var lastComma: Int? = nil
            for (i, b) in bytes.enumerated() {
                if inString {
                    if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                    continue
                }
                switch b {
                case UInt8(ascii: "\""): inString = true; lastComma = nil
                case UInt8(ascii: ","): lastComma = i
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): break
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if let comma = lastComma { return "trailing comma at byte \(comma) (not JSON)" }
                default: lastComma = nil
                }
            }
            return nil
        }
    }
}
