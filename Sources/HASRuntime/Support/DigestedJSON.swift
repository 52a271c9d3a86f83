import Crypto
import Foundation

/// Lowercase hex SHA-256 of `bytes`.
public func sha256Hex<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

/// A JSON file that carries the SHA-256 of its own content, for checkpoints:
/// `{"content": …, "digest": "<hex>"}` where the digest is over the content
/// encoded with sorted keys. An edited, truncated or damaged file is refused
/// instead of trusted; the content's own checks come after.
public enum DigestedJSON {
    private struct Envelope<Content: Codable>: Codable {
        var content: Content
        var digest: String
    }

    private static func canonical<Content: Encodable>(_ content: Content) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(content)
    }

    public static func encode<Content: Codable>(_ content: Content) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(Envelope(content: content, digest: sha256Hex(try canonical(content)))))
    }

    private struct DigestOnly: Decodable { var digest: String }

    /// - Parameter kind: what the file should be, for errors ("has-plan checkpoint").
    /// - Throws: `InputError(file:)`: not JSON of that kind, or a digest that does not match.
    public static func decode<Content: Codable>(_ type: Content.Type, from bytes: [UInt8], file: String,
                                                kind: String) throws -> Content {
        if let problem = StrictJSON.problem(in: Data(bytes)) { throw InputError(file: file, "not a \(kind): \(problem)") }
        // The content as written is its canonical form: its digest is checked on
        // the raw bytes before anything is decoded, so that a damaged 100 MB
        // checkpoint is refused in a moment rather than after a full decode.
        let rawDigest: (stored: String, actual: String)? = bytes.withUnsafeBufferPointer { buffer in
            guard let span = JSONSpans.spans(of: [["content"]], in: buffer)?[["content"]],
                  let stored = try? JSONDecoder().decode(DigestOnly.self, from: Data(JSONSpans.replacing([span], in: buffer)))
            else { return nil }
            return (stored.digest, sha256Hex(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[span]))))
        }
        if let rawDigest, rawDigest.stored != rawDigest.actual {
            throw InputError(file: file, "the \(kind)'s digest does not match its contents: it was edited or damaged")
        }
        let envelope: Envelope<Content>
        do {
            envelope = try JSONDecoder().decode(Envelope<Content>.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw InputError(file: file, "not a \(kind): \(error.briefDescription)")
        } catch {
            throw InputError(file: file, "not a \(kind): \(error)")
        }
        // Where the raw bytes could not be hashed, the decoded content's canonical form is.
        if rawDigest == nil, sha256Hex(try canonical(envelope.content)) != envelope.digest {
            throw InputError(file: file, "the \(kind)'s digest does not match its contents: it was edited or damaged")
        }
        return envelope.content
    }
}
