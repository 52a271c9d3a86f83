import Foundation
import HASDiagnosis
import HASRuntime
import XCTest

/// The profile file: synthetic devices, round trip, fingerprint, validation.
final class FaultProfileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fault-profile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func testSyntheticDeviceIsUniformAndSeeded() throws {
        let a = try FaultProfile.synthetic(kind: .flip1, frMax: 5e-3, seed: 3987)
        XCTAssertEqual(a.geometry, .paper)
        XCTAssertEqual(a.rates.count, 20)
        XCTAssertTrue(a.rates.allSatisfy { $0.count == 32 })
        let all = Array(a.rates.joined())
        XCTAssertTrue(all.allSatisfy { $0 >= 0 && $0 < 5e-3 })
        // Uniform(0, FR_max): mean FR_max/2 (sd of the mean ≈ 5e-3/√(12·640) ≈ 5.7e-5), both halves populated.
        XCTAssertEqual(a.meanRate, 2.5e-3, accuracy: 3e-4)
        XCTAssertGreaterThan(all.filter { $0 < 2.5e-3 }.count, 250)
        XCTAssertGreaterThan(all.filter { $0 >= 2.5e-3 }.count, 250)
        XCTAssertEqual(try FaultProfile.synthetic(kind: .flip1, frMax: 5e-3, seed: 3987), a)
        XCTAssertNotEqual(try FaultProfile.synthetic(kind: .flip1, frMax: 5e-3, seed: 3988).rates, a.rates)
        let small = try FaultProfile.synthetic(kind: .tf32, frMax: 0.5, seed: 1, blocks: 3, threads: 4)
        XCTAssertEqual(small.geometry, .init(blocks: 3, threads: 4))
        XCTAssertEqual(small.origin, .synthetic(frMax: 0.5, seed: 1))
    }

    func testFileRoundTripKeepsContentsAndFingerprint() throws {
        let a = try FaultProfile.synthetic(kind: .bitflip, frMax: 2e-3, seed: 7, exponentBits: .all8,
                                          tiling: .init(denseTileK: 16, convTileK: 8))
        try a.write(to: path("a.json"))
        let b = try FaultProfile.load(path: path("a.json"))
        XCTAssertEqual(b, a)
        XCTAssertEqual(b.fingerprint, a.fingerprint)
        XCTAssertEqual(a.fingerprint.count, 64)
        XCTAssertTrue(a.fingerprint.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("a.json")))) as! [String: Any]
        XCTAssertEqual(object["fingerprint"] as? String, a.fingerprint)
        XCTAssertEqual(object["kind"] as? String, "bitflip")
        XCTAssertEqual(object["exponent_bits"] as? String, "0-7")

        let diagnosed = try FaultProfile(
            geometry: .init(blocks: 1, threads: 2), kind: .flip0, rates: [[0.25, 0]],
            origin: .diagnosed(.init(samples: [[400, 400]], errors: [[100, 0]], confidence: 0.999,
                                     lower: [[0.19, 0]], upper: [[0.31, 0.017]], method: "test")))
        try diagnosed.write(to: path("d.json"))
        XCTAssertEqual(try FaultProfile.load(path: path("d.json")), diagnosed)
    }

    func testFingerprintIgnoresLayoutAndOriginButNotBehaviour() throws {
        let a = try FaultProfile.synthetic(kind: .flip1, frMax: 5e-3, seed: 3987, blocks: 4, threads: 3)
        // The same contents re-serialised with other whitespace and key order (and no stored fingerprint).
        var object = try JSONSerialization.jsonObject(with: Data(a.json().utf8)) as! [String: Any]
        object["fingerprint"] = nil
        for options: JSONSerialization.WritingOptions in [[], [.prettyPrinted], [.sortedKeys], [.prettyPrinted, .sortedKeys]] {
            let data = try JSONSerialization.data(withJSONObject: object, options: options)
            XCTAssertEqual(try FaultProfile.decode(data, file: "x").fingerprint, a.fingerprint)
        }
        var reordered = "{\"rates\": \(try String(decoding: JSONSerialization.data(withJSONObject: a.rates), as: UTF8.self)),"
        reordered += "\"origin\": {\"seed\": 1, \"type\": \"synthetic\", \"fr_max\": 0.9},"  // origin does not count
        reordered += "\"kind\": \"flip1\", \"geometry\": {\"threads\": 3, \"blocks\": 4}, \"version\": 1}"
        XCTAssertEqual(try FaultProfile.decode(Data(reordered.utf8), file: "x").fingerprint, a.fingerprint)

        // Everything that changes behaviour changes it.
        var rates = a.rates
        rates[2][1] += 1e-6
        let variants = [
            try FaultProfile(geometry: a.geometry, kind: .flip1, rates: rates, origin: a.origin),
            try FaultProfile(geometry: a.geometry, kind: .bitflip, rates: a.rates, origin: a.origin),
            try FaultProfile(geometry: a.geometry, kind: .flip1, exponentBits: .all8, rates: a.rates, origin: a.origin),
            try FaultProfile(geometry: a.geometry, tiling: .init(denseTileK: 16), kind: .flip1, rates: a.rates, origin: a.origin),
            try FaultProfile(geometry: a.geometry, tiling: .init(convTileK: 16), kind: .flip1, rates: a.rates, origin: a.origin),
            try FaultProfile(geometry: .init(blocks: 3, threads: 4), kind: .flip1,
                             rates: Array(a.rates.joined()).chunked(4), origin: a.origin),
        ]
        let prints = Set(variants.map(\.fingerprint) + [a.fingerprint])
        XCTAssertEqual(prints.count, variants.count + 1)
        // The default dense tile written explicitly is the same device.
        XCTAssertEqual(try FaultProfile(geometry: a.geometry, tiling: .init(denseTileK: 32), kind: .flip1, rates: a.rates,
                                        origin: a.origin).fingerprint, a.fingerprint)
        // Rates are held in the canonical decimal form, so digits beyond it change nothing.
        rates = a.rates
        rates[0][0] = 1.234567890123e-3
        let b = try FaultProfile(geometry: a.geometry, kind: .flip1, rates: rates, origin: a.origin)
        rates[0][0] = 1.234567890124e-3
        let c = try FaultProfile(geometry: a.geometry, kind: .flip1, rates: rates, origin: a.origin)
        XCTAssertEqual(b.fingerprint, c.fingerprint)
        XCTAssertEqual(b.rates, c.rates)
        XCTAssertTrue(b.canonicalText.contains("1.234567890e-03"))
    }

    /// Writes `text` and expects a one-line `InputError` naming the file and mentioning `problem`.
    func assertRejected(_ text: String, _ problem: String, line: UInt = #line) {
        let file = path("bad-\(line).json")
        try! text.write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FaultProfile.load(path: file), line: line) { error in
            guard let error = error as? InputError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(error.file, file, line: line)
            XCTAssertTrue(error.problem.contains(problem), "\(error.problem)", line: line)
            XCTAssertFalse(error.description.contains("\n"), line: line)
        }
    }

    func testBadProfilesAreClearErrors() throws {
        func profile(_ geometry: String = #"{"blocks": 2, "threads": 2}"#, kind: String = "flip1",
                     rates: String = "[[0.1, 0.2], [0, 1]]", extra: String = "") -> String {
            #"{"version": 1, "geometry": \#(geometry), "kind": "\#(kind)", "origin": {"type": "synthetic", "fr_max": 1, "seed": 2}, "rates": \#(rates)\#(extra)}"#
        }
        XCTAssertNoThrow(try FaultProfile.decode(Data(profile().utf8), file: "ok"))
        assertRejected(profile(rates: "[[0.1, -0.2], [0, 1]]"), "rates[0][1] is -0.2")
        assertRejected(profile(rates: "[[0.1, 0.2], [0, 1.5]]"), "rates[1][1] is 1.5")
        assertRejected(profile(rates: #"[[0.1, "NaN"], [0, 1]]"#), "rates[0][1] is nan")
        assertRejected(profile(rates: "[[0.1, NaN], [0, 1]]"), "not a valid fault profile")
        assertRejected(profile(rates: "[[0.1, 0.2]]"), "rates has 1 rows but the geometry has 2 blocks")
        assertRejected(profile(rates: "[[0.1, 0.2], [0]]"), "rates[1] has 1 entries but the geometry has 2 threads")
        assertRejected(profile(kind: "flip2"), "unknown error kind 'flip2'")
        assertRejected(profile(#"{"blocks": 0, "threads": 2}"#, rates: "[]"), "at least 1 block and 1 thread")
        assertRejected(profile(#"{"blocks": 2, "threads": 0}"#, rates: "[[], []]"), "at least 1 block and 1 thread")
        assertRejected(profile(extra: #", "tiling": {"dense_tile_k": 0}"#), "dense_tile_k must be between 1")
        assertRejected(profile(extra: #", "exponent_bits": "0-5""#), "exponent_bits")
        assertRejected(profile(extra: #", "fingerprint": "00ff""#), "does not match the contents")
        assertRejected(#"{"version": 2}"#, "not a valid fault profile")
        assertRejected("not json", "not a valid fault profile")
        assertRejected(profile().replacingOccurrences(of: "\"version\": 1", with: "\"version\": 2"), "version 2 is not supported")
        XCTAssertThrowsError(try FaultProfile.load(path: path("missing.json"))) { error in
            XCTAssertEqual((error as? InputError)?.file, path("missing.json"))
        }
        XCTAssertThrowsError(try FaultProfile.synthetic(kind: .flip1, frMax: 2, seed: 1))
        XCTAssertThrowsError(try FaultProfile.synthetic(kind: .flip1, frMax: 0.1, seed: 1, blocks: 0))
    }

    /// The matrices are read by JSONNumberMatrix, the rest by JSONDecoder: strict
    /// RFC 8259 numbers, the same profile as a whole-file decode (forced here by a
    /// key written with an escape, which the fast path leaves to JSONDecoder), and
    /// the geometry checked before any matrix is read.
    func testMatricesAreReadStrictlyAndAsJSONDecoderReadsThem() throws {
        func profile(_ rates: String, key: String = "rates", geometry: String = #"{"blocks": 2, "threads": 2}"#,
                     origin: String = #"{"type": "synthetic", "fr_max": 1, "seed": 2}"#) -> String {
            #"{"version": 1, "geometry": \#(geometry), "kind": "flip1", "origin": \#(origin), "\#(key)": \#(rates)}"#
        }
        for rates in ["[[0.1, 0.2], [0, 1]]", " [ [0.1,2e-1] ,\n[ -0 , 1E0 ] ] ", "[[1.5e-1, 0.125], [0.0, 1.0e+0]]"] {
            let fast = try FaultProfile.decode(Data(profile(rates).utf8), file: "fast")
            let whole = try FaultProfile.decode(Data(profile(rates, key: #"r\u0061tes"#).utf8), file: "whole")
            XCTAssertEqual(fast, whole, rates)
            XCTAssertEqual(fast.fingerprint, whole.fingerprint)
        }
        for bad in ["01", "1.", ".5", "+0.1", "1e", "0x1", "Infinity", "true", "null", "\"0.1\"", "[0.1]"] {
            assertRejected(profile("[[0.1, \(bad)], [0, 1]]"), "rates[0][1] is not a JSON number")
        }
        assertRejected(profile("[[0.1, 0.2, 0.3], [0, 1]]"), "rates[0] has more than 2 entries")
        assertRejected(profile("[[0.1, 0.2], [0, 1], [0, 1]]"), "rates has more than 2 rows")
        assertRejected(profile("[[0.1, 0.2], [0, 1]] 7"), "not a valid fault profile")
        // A geometry too large is refused before the (here unreadable) rates are looked at.
        assertRejected(profile(#"[[0.1, "oops"]]"#, geometry: #"{"blocks": 65536, "threads": 65536}"#), "larger than this simulator supports")
        let diagnosed = #"{"type": "diagnosed", "samples": [[10, 10], [10, 10]], "errors": [[1, 0], [2.5, 0]], "confidence": 0.9, "lower": [[0, 0], [0, 0]], "upper": [[1, 1], [1, 1]]}"#
        assertRejected(profile("[[0.1, 0.2], [0, 1]]", origin: diagnosed), "origin errors[1][0] is 2.5, not a count")
        XCTAssertNoThrow(try FaultProfile.decode(Data(profile("[[0.1, 0.2], [0, 1]]",
                                                              origin: diagnosed.replacingOccurrences(of: "2.5", with: "2")).utf8), file: "d"))
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min(count, $0 + size)]) }
    }
}
