import Foundation

/// One JSON line of `--json` output, from a Codable value (names and paths
/// escaped, numbers as JSON numbers), keys in snake_case and sorted.
func printJSONLine<Record: Encodable>(_ record: Record) {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(record) else { fatalError("has-bench: a record that JSON cannot hold") }
    print(String(decoding: data, as: UTF8.self))
}
