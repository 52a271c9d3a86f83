import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A model bundle: the manifest plus its named float32 tensors.
///
/// On disk a bundle is a ZIP archive that `numpy.load` opens like the output of
/// `numpy.savez_compressed`: `manifest.json` and one `NAME.npy` ('<f4', C order)
/// per tensor. Format and schema: docs/bundle-format.md.
public struct ModelBundle: Sendable {
    public var manifest: Manifest
    /// By name; the entry of tensor `c0.weight` is `c0.weight.npy`.
    public var tensors: [String: Tensor]

    public init(manifest: Manifest, tensors: [String: Tensor]) {
        self.manifest = manifest
        self.tensors = tensors
    }

    static let manifestEntry = "manifest.json"
    static let tensorSuffix = ".npy"

    /// Reads and fully validates the bundle at `path`: archive integrity and
    /// limits, manifest schema, referenced tensors present, '<f4' and finite,
    /// and shapes chaining from the input to one output per class.
    /// Entries nothing references are kept but need not be '<f4'.
    /// - Throws: `InputError(file: path, …)` naming the entry or layer at fault.
    public static func load(from path: String, limits: ZipArchive.Limits = ZipArchive.Limits()) throws -> ModelBundle {
        var manifestBytes: [UInt8]?
        var arrays: [String: NPYArray] = [:]
        for entry in try ZipArchive.read(readFile(path, limits: limits), file: path, limits: limits) {
            if entry.name == manifestEntry {
                manifestBytes = entry.data
                continue
            }
            guard entry.name.hasSuffix(tensorSuffix), entry.name.count > tensorSuffix.count else {
                throw InputError(file: path, "entry \(entry.name): unexpected (a bundle holds manifest.json and NAME.npy entries only)")
            }
            do {
                arrays[String(entry.name.dropLast(tensorSuffix.count))] = try NPYArray.decode(entry.data, file: path)
            } catch let error as InputError {
                throw InputError(file: path, "entry \(entry.name): \(error.problem)")
            }
        }
        guard let manifestBytes else { throw InputError(file: path, "manifest.json is missing") }
        let manifest = try decodeManifest(manifestBytes, file: path)
        try manifest.validate(file: path)
        for name in manifest.tensorNames {
            if let dtype = arrays[name]?.dtype, dtype != "<f4" {
                throw InputError(file: path, "entry \(name)\(tensorSuffix): dtype '\(dtype)' is not float32; expected '<f4'")
            }
        }
        let bundle = ModelBundle(manifest: manifest, tensors: arrays.mapValues(\.tensor))
        try bundle.validateTensors(file: path)
        return bundle
    }

    /// Validates the bundle as `load` would, then writes it atomically (a
    /// temporary file in the same directory, renamed over `path`): entries
    /// `manifest.json` (pretty-printed, sorted keys) then `NAME.npy` per tensor
    /// in name order, so equal bundles give equal files.
    /// - Throws: `InputError(file: path, …)`.
    public func write(to path: String) throws {
        try manifest.validate(file: path)
        try validateTensors(file: path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json: Data
        do {
            json = try encoder.encode(manifest)
        } catch {
            throw InputError(file: path, "manifest cannot be encoded as JSON (\(error))")
        }
        var entries = [ZipArchive.Entry(name: ModelBundle.manifestEntry, data: Array(json) + Array("\n".utf8))]
        for name in sortedTensorNames {
            entries.append(ZipArchive.Entry(name: name + ModelBundle.tensorSuffix, data: NPYArray.encode(tensors[name]!)))
        }
        try writeFileAtomically(ZipArchive.write(entries, file: path), to: path)
    }

    /// Hex SHA-256 of all tensors in a canonical form, independent of the
    /// archive's compression, entry order and manifest, so two bundles with the
    /// same weights have the same digest. For each tensor, in the byte order
    /// of the UTF-8 names: the name's UTF-8 bytes, a NUL byte, the rank as a
    /// little-endian Int64, each dimension as a little-endian Int64, then the
    /// values as little-endian float32 in C order.
    public var weightsDigest: String {
        var hasher = SHA256()
        for name in sortedTensorNames {
            let tensor = tensors[name]!
            (Array(name.utf8) + [0]).withUnsafeBytes { hasher.update(bufferPointer: $0) }
            ([tensor.rank] + tensor.shape).map { Int64($0).littleEndian }.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            withLittleEndianBytes(of: tensor.data) { hasher.update(bufferPointer: $0) }
        }
        let hexDigits = Array("0123456789abcdef")
        return String(hasher.finalize().flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 15)]] })
    }

    /// Tensor names in the byte order of their UTF-8 (not `String`'s Unicode
    /// order), so that other languages can reproduce the order.
    private var sortedTensorNames: [String] {
        tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}

// MARK: - Files

extension ModelBundle {
    private static func readFile(_ path: String, limits: ZipArchive.Limits) throws -> [UInt8] {
        // A bundle cannot be larger than what it may inflate to.
        try InputFile(path: path).readAll(maxBytes: limits.maxTotalUncompressed, what: "the bundle")
    }

    /// One-line messages for JSON and schema errors, with the JSON path.
    private static func decodeManifest(_ bytes: [UInt8], file: String) throws -> Manifest {
        func path(_ keys: [CodingKey]) -> String {
            let joined = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return String(joined.drop(while: { $0 == "." }))
        }
        if let problem = StrictJSON.problem(in: Data(bytes)) { throw InputError(file: file, "manifest.json: \(problem)") }
        do {
            return try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            // Foundation on Linux also reports numbers that do not fit their
            // field (1e300 or 2.5 for an Int) this way, without a path.
            guard (try? JSONSerialization.jsonObject(with: Data(bytes))) != nil else {
                throw InputError(file: file, "manifest.json is not valid JSON")
            }
            throw InputError(file: file, "manifest.json: a number is out of range, or not an integer where one is expected")
        } catch DecodingError.keyNotFound(let key, let context) {
            throw InputError(file: file, "manifest.json: missing key '\(path(context.codingPath + [key]))'")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw InputError(file: file, "manifest.json: '\(path(context.codingPath))' has the wrong type")
        } catch DecodingError.dataCorrupted(let context) where context.debugDescription == LayerSpec.unknownField {
            throw InputError(file: file, "manifest.json: unknown field '\(path(context.codingPath))' (docs/bundle-format.md lists a layer's fields)")
        } catch DecodingError.dataCorrupted(let context) {
            throw InputError(file: file, "manifest.json: '\(path(context.codingPath))' is invalid")
        }
    }
}
