/// A problem with something the user handed us: a file, an option, a header.
///
/// Every reader in the runtime throws this, so that a CLI can print one line
/// naming the file and the problem (`error: model.zip: entry c0.weight.npy: bad CRC`)
/// and exit non-zero. Library code never calls `exit`.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or option) at fault, as the user named it.
    public var file: String
    /// What is wrong with it, in one line.
    public var problem: String

    /// Control characters and line breaks in either part (a key or a name
    /// quoted from a damaged file, a path with a newline) are written as
    /// `\u{…}` escapes: the message stays one line whatever the file holds.
    public init(file: String, _ problem: String) {
        self.file = InputError.oneLine(file)
        self.problem = InputError.oneLine(problem)
    }

    static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .format: return true
        default: return false
        }
    }

    public var description: String { "\(file): \(problem)" }
}
