/// CSV as RFC 4180 writes it: a field holding a comma, a double quote, CR or
/// LF is quoted, its quotes doubled, so that no value (a layer name, a file
/// name, a fingerprint read from a checkpoint) can add columns or rows.
public enum CSV {
    public static func field(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else {
            return value
        }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One line, without its line break.
    public static func row(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") }
}
