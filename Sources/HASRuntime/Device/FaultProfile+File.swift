import Crypto
import Foundation

/// The fault-profile JSON file (docs/fault-profile.md) and the fingerprint.
extension FaultProfile {
    public static let formatName = "has-fault-profile"
    public static let formatVersion = 1
    /// Profiles are small (a 1M-PE device is ~20 MB of text); refuse anything larger.
    public static let maxFileBytes = 64 << 20

    /// SHA-256 (lowercase hex) of the canonical serialisation of everything that
    /// changes behaviour: geometry, tiling, kind, exponent-bit choice, rates in
    /// `%.9e` form. Independent of JSON whitespace, key order and the origin.
    /// (`fingerprint` holds it, refreshed whenever one of those changes.)
    var computedFingerprint: String { sha256Hex(canonicalBytes) }

    /// The text the fingerprint hashes (documented in docs/fault-profile.md).
    public var canonicalText: String { String(decoding: canonicalBytes, as: UTF8.self) }

    private var canonicalBytes: [UInt8] {
        let lines = [
            "\(Self.formatName)/\(Self.formatVersion)",
            "geometry \(geometry.blocks) \(geometry.threads)",
            "tiling dense=\(tiling.denseTileK ?? Tiling.defaultDenseTileK) conv=\(tiling.convTileK.map(String.init) ?? "kh*kw")",
            "kind \(kind.rawValue)",
            "exponent-bits \(exponentBits.rawValue)",
            "rates",
        ]
        var text = Array((lines.joined(separator: "\n") + "\n").utf8)
        text.reserveCapacity(text.count + rates.count * (rates.first?.count ?? 0) * 16)
        for row in rates {
            for (i, rate) in row.enumerated() {
                if i > 0 { text.append(UInt8(ascii: " ")) }
                CanonicalRate.append(rate, to: &text)
            }
            text.append(UInt8(ascii: "\n"))
        }
        return text
    }

    /// Reads and validates a profile file.
    /// - Throws: `InputError(file: path)` naming the first problem: not JSON, a
    ///   missing field, unknown kind, zero geometry, wrong row counts, a rate
    ///   outside [0, 1] or NaN, or a stored fingerprint that does not match.
    public static func load(path: String) throws -> FaultProfile {
        let bytes = try InputFile(path: path).readAll(maxBytes: maxFileBytes, what: "the fault profile")
        return try decode(Data(bytes), file: path)
    }

    /// Parses and validates profile JSON; `file` names it in errors.
    public static func decode(_ data: Data, file: String) throws -> FaultProfile {
        func fail(_ problem: String) -> InputError { InputError(file: file, problem) }
        if let problem = StrictJSON.problem(in: data) { throw fail("not a valid fault profile: \(problem)") }
        let bytes = [UInt8](data)
        return try bytes.withUnsafeBufferPointer { try decode(bytes: $0, file: file) }
    }

    /// The profile's large matrices, read by `JSONNumberMatrix` (the rest by `JSONDecoder`).
    private static let matrixPaths: [[String]: String] = [
        ["rates"]: "rates", ["origin", "samples"]: "origin samples", ["origin", "errors"]: "origin errors",
        ["origin", "lower"]: "origin lower", ["origin", "upper"]: "origin upper",
    ]

    private static func decode(bytes: UnsafeBufferPointer<UInt8>, file: String) throws -> FaultProfile {
        func fail(_ problem: String) -> InputError { InputError(file: file, problem) }
        // Only lists are cut out (a null or a number stays for JSONDecoder to judge).
        let spans = (JSONSpans.spans(of: Array(matrixPaths.keys), in: bytes) ?? [:])
            .filter { bytes[$0.value.lowerBound] == UInt8(ascii: "[") }
        let decoder = JSONDecoder()
        // NaN written as a string still reaches validation, which names the entry.
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        var raw: RawProfile
        do {
            raw = try decoder.decode(RawProfile.self, from: Data(JSONSpans.replacing(Array(spans.values), in: bytes)))
        } catch let error as DecodingError {
            throw fail("not a valid fault profile: \(error.briefDescription)")
        } catch {
            throw fail("not a valid fault profile: \(error)")
        }
        if let format = raw.format, format != formatName {
            throw fail("format is '\(format)', expected '\(formatName)'")
        }
        guard raw.version == formatVersion else {
            throw fail("version \(raw.version) is not supported (this reader knows version \(formatVersion))")
        }
        guard let kind = ErrorKind(rawValue: raw.kind) else {
            throw fail("unknown error kind '\(raw.kind)' (expected one of \(ErrorKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let bits: ExponentBits
        if let text = raw.exponentBits {
            guard let parsed = ExponentBits(rawValue: text) else {
                throw fail("exponent_bits is '\(text)', expected \"0-6\" or \"0-7\"")
            }
            bits = parsed
        } else {
            bits = .low7
        }
        // Before any matrix is read: a huge geometry would make them huge.
        if let problem = geometryProblem(blocks: raw.geometry.blocks, threads: raw.geometry.threads) { throw fail(problem) }
        for (path, range) in spans {
            let name = matrixPaths[path]!
            let matrix: [[Double]]
            switch JSONNumberMatrix.parse(bytes, range: range, rows: raw.geometry.blocks, columns: raw.geometry.threads, name: name) {
            case .success(let m): matrix = m
            case .failure(let problem): throw fail("not a valid fault profile: \(problem.text)")
            }
            func counts() throws -> [[Int]] {
                try matrix.enumerated().map { s, row in
                    try row.enumerated().map { t, x in
                        guard x.rounded() == x, abs(x) < 0x1p53 else { throw fail("\(name)[\(s)][\(t)] is \(x), not a count") }
                        return Int(x)
                    }
                }
            }
            switch path.last! {
            case "rates": raw.rates = matrix
            case "samples": raw.origin.samples = try counts()
            case "errors": raw.origin.errors = try counts()
            case "lower": raw.origin.lower = matrix
            default: raw.origin.upper = matrix
            }
        }
        let origin: Origin
        switch raw.origin.type {
        case "synthetic":
            guard let frMax = raw.origin.frMax, let seed = raw.origin.seed else {
                throw fail("a synthetic origin needs fr_max and seed")
            }
            origin = .synthetic(frMax: frMax, seed: seed)
        case "diagnosed":
            guard let samples = raw.origin.samples, let errors = raw.origin.errors, let confidence = raw.origin.confidence,
                  let lower = raw.origin.lower, let upper = raw.origin.upper else {
                throw fail("a diagnosed origin needs samples, errors, confidence, lower and upper")
            }
            let o = raw.origin
            if let unresolved = o.unresolved, unresolved.contains(where: { $0.count != 2 }) {
                throw fail("origin.unresolved must list [block, thread] pairs")
            }
            origin = .diagnosed(Diagnosis(samples: samples, errors: errors, confidence: confidence, lower: lower,
                                          upper: upper, method: o.method, identifiedKind: o.identifiedKind,
                                          kindEvidence: o.kindEvidence, unresolved: o.unresolved, gemms: o.gemms,
                                          precision: o.precision, rateFloor: o.rateFloor, visibility: o.visibility))
        default:
            throw fail("origin type '\(raw.origin.type)' is unknown (expected synthetic or diagnosed)")
        }
        let profile: FaultProfile
        do {
            profile = try FaultProfile(
                geometry: Geometry(blocks: raw.geometry.blocks, threads: raw.geometry.threads),
                tiling: Tiling(denseTileK: raw.tiling?.denseTileK, convTileK: raw.tiling?.convTileK),
                kind: kind, exponentBits: bits, rates: raw.rates, origin: origin)
        } catch let error as InputError {
            throw fail(error.problem)
        }
        if let stored = raw.fingerprint, stored.lowercased() != profile.fingerprint {
            throw fail("stored fingerprint \(stored.prefix(12))… does not match the contents (\(profile.fingerprint.prefix(12))…); "
                       + "the profile was edited: remove the fingerprint field to accept the new contents")
        }
        return profile
    }

    /// The profile as JSON text (one line per block of rates), with its fingerprint.
    public func json() -> String {
        func number(_ x: Double) -> String {
            if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
            return "\(x)"
        }
        func matrix(_ m: [[Double]], indent: String) -> String {
            "[\n" + m.map { indent + "  [" + $0.map(number).joined(separator: ", ") + "]" }.joined(separator: ",\n")
                + "\n" + indent + "]"
        }
        func string(_ s: String) -> String { String(decoding: try! JSONEncoder().encode(s), as: UTF8.self) }
        var originFields: [String]
        switch origin {
        case .synthetic(let frMax, let seed):
            originFields = [#""type": "synthetic""#, #""fr_max": \#(number(frMax))"#, #""seed": \#(seed)"#]
        case .diagnosed(let d):
            originFields = [#""type": "diagnosed""#, #""confidence": \#(number(d.confidence))"#]
            if let method = d.method { originFields.append(#""method": \#(string(method))"#) }
            if let kind = d.identifiedKind { originFields.append(#""identified_kind": \#(string(kind))"#) }
            if let evidence = d.kindEvidence { originFields.append(#""kind_evidence": \#(string(evidence))"#) }
            if let gemms = d.gemms { originFields.append(#""gemms": \#(gemms)"#) }
            if let precision = d.precision { originFields.append(#""precision": \#(number(precision))"#) }
            if let floor = d.rateFloor { originFields.append(#""rate_floor": \#(number(floor))"#) }
            if let visibility = d.visibility { originFields.append(#""visibility": \#(number(visibility))"#) }
            if let unresolved = d.unresolved {
                originFields.append(#""unresolved": [\#(unresolved.map { "[\($0[0]), \($0[1])]" }.joined(separator: ", "))]"#)
            }
            originFields += [
                #""samples": \#(matrix(d.samples.map { $0.map(Double.init) }, indent: "    "))"#,
                #""errors": \#(matrix(d.errors.map { $0.map(Double.init) }, indent: "    "))"#,
                #""lower": \#(matrix(d.lower, indent: "    "))"#,
                #""upper": \#(matrix(d.upper, indent: "    "))"#,
            ]
        }
        let tilingFields = [#""dense_tile_k": \#(tiling.denseTileK.map(String.init) ?? "null")"#,
                            #""conv_tile_k": \#(tiling.convTileK.map(String.init) ?? "null")"#]
        let fields = [
            #""format": "\#(Self.formatName)""#,
            #""version": \#(Self.formatVersion)"#,
            #""fingerprint": "\#(fingerprint)""#,
            #""geometry": {"blocks": \#(geometry.blocks), "threads": \#(geometry.threads)}"#,
            #""tiling": {\#(tilingFields.joined(separator: ", "))}"#,
            #""kind": "\#(kind.rawValue)""#,
            #""exponent_bits": "\#(exponentBits.rawValue)""#,
            #""origin": {\#n    \#(originFields.joined(separator: ",\n    "))\#n  }"#,
            #""rates": \#(matrix(rates, indent: "  "))"#,
        ]
        return "{\n  " + fields.joined(separator: ",\n  ") + "\n}\n"
    }

    /// Writes the profile atomically.
    public func write(to path: String) throws {
        try writeFileAtomically(json(), to: path)
    }

    /// A decoding error in one line, with the JSON path where it happened.
}

/// The file's fields as written, before validation.
private struct RawProfile: Decodable {
    struct Geometry: Decodable { var blocks: Int; var threads: Int }
    struct Tiling: Decodable {
        var denseTileK: Int?
        var convTileK: Int?
        enum CodingKeys: String, CodingKey { case denseTileK = "dense_tile_k", convTileK = "conv_tile_k" }
    }
    struct Origin: Decodable {
        var type: String
        var frMax: Double?
        var seed: UInt64?
        var samples: [[Int]]?
        var errors: [[Int]]?
        var confidence: Double?
        var lower: [[Double]]?
        var upper: [[Double]]?
        var method: String?
        var identifiedKind: String?
        var kindEvidence: String?
        var unresolved: [[Int]]?
        var gemms: Int?
        var precision: Double?
        var rateFloor: Double?
        var visibility: Double?
        enum CodingKeys: String, CodingKey {
            case type, frMax = "fr_max", seed, samples, errors, confidence, lower, upper, method
            case identifiedKind = "identified_kind", kindEvidence = "kind_evidence", unresolved, gemms, precision
            case rateFloor = "rate_floor", visibility
        }
    }
    var format: String?
    var version: Int
    var fingerprint: String?
    var geometry: Geometry
    var tiling: Tiling?
    var kind: String
    var exponentBits: String?
    var origin: Origin
    var rates: [[Double]]
    enum CodingKeys: String, CodingKey {
        case format, version, fingerprint, geometry, tiling, kind, exponentBits = "exponent_bits", origin, rates
    }
}
