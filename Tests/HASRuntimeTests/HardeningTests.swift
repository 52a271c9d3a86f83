import Foundation
import XCTest
@testable import HASRuntime

/// Inputs that crashed, hung or slipped through before (issue 17), each
/// built here rather than stored: every one is refused with an `InputError`.
final class HardeningTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hardening-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func problem(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "accepted"
        } catch let error as InputError {
            return error.problem
        } catch {
            return "not an InputError: \(error)"
        }
    }

    /// A FIFO with no writer used to block `open` forever.
    func testNonRegularFilesAreRefusedAtOnce() throws {
        XCTAssertEqual(mkfifo(path("fifo"), 0o600), 0)
        XCTAssertEqual(problem { _ = try readInputFile(self.path("fifo"), maxBytes: 1 << 20, what: "x") },
                       "is a FIFO (named pipe), not a regular file")
        XCTAssertEqual(problem { _ = try ModelBundle.load(from: self.path("fifo")) }, "is a FIFO (named pipe), not a regular file")
        XCTAssertEqual(problem { _ = try FaultProfile.load(path: self.path("fifo")) }, "is a FIFO (named pipe), not a regular file")
        XCTAssertEqual(problem { _ = try readInputFile(self.dir.path, maxBytes: 1 << 20, what: "x") }, "is a directory, not a regular file")
    }

    /// A plan-store entry that is a link loop or a FIFO is an error, not "no plan".
    func testBrokenPlanStoreEntriesAreNotTakenForNoPlan() throws {
        let plan = SchedulePlan.path(in: path("Plans"), model: "m", fingerprint: "f")
        try FileManager.default.createDirectory(atPath: (plan as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertNil(SchedulePlan.find(in: path("Plans"), model: "m", fingerprint: "f"))
        XCTAssertEqual(symlink(plan, plan), 0)
        XCTAssertEqual(SchedulePlan.find(in: path("Plans"), model: "m", fingerprint: "f"), plan)
        XCTAssertTrue(problem { _ = try SchedulePlan.load(from: plan) }.contains("symbolic links"))
        XCTAssertEqual(unlink(plan), 0)
        XCTAssertEqual(mkfifo(plan, 0o600), 0)
        XCTAssertEqual(problem { _ = try SchedulePlan.load(from: plan) }, "is a FIFO (named pipe), not a regular file")
    }

    /// A uint8 image array with a zero dimension used to fail a precondition.
    func testEmptyImagesInANPYArrayAreRefused() throws {
        var header = "{'descr': '|u1', 'fortran_order': False, 'shape': (20, 28, 0), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
            + Array(header.utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path("empty.npy")))
        let input = InputSpec(shape: [1, 28, 28], preprocessing: Preprocessing())
        XCTAssertTrue(problem {
            _ = try ImageSet.open(images: self.path("empty.npy"), labels: nil, limit: nil, input: input, model: "m", classCount: 2)
        }.contains("empty"))
    }

    /// A key with a vertical tab in a .npy header (found by the npy fuzz target) was quoted
    /// into the error raw; every control or line-break character now becomes an escape.
    func testErrorsQuotingAFileStayOneLine() throws {
        for control in ["\u{0B}", "\n", "\r", "\u{2028}", "\u{1B}[31m", "\u{85}"] {
            var header = "{'d\(control)escr': '|u1', 'fortran_order': False, 'shape': (2, 4, 4), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
                + Array(header.utf8) + [UInt8](repeating: 0, count: 32)
            let message = problem { _ = try NPYArray.decode(bytes, file: "a\(control)b.npy") }
            XCTAssertTrue(message.contains("unknown key"), message)
            XCTAssertFalse(message.unicodeScalars.contains { $0.properties.generalCategory == .control }, message)
            XCTAssertFalse(InputError(file: "a\(control)b.npy", message).description.contains(where: \.isNewline))
        }
        XCTAssertEqual(InputError(file: "f", "key 'a\u{0B}b'").problem, "key 'a\\u{b}b'")
        XCTAssertEqual(InputError(file: "plain é ü", "unchanged").description, "plain é ü: unchanged")
    }

    /// Checkpoints: the digest is checked on the content's raw bytes before any decoding
    /// (a damaged large checkpoint is refused at once), and on the decoded content's
    /// canonical form only where the raw bytes cannot be found.
    func testDigestedJSONChecksTheRawContentFirst() throws {
        struct Content: Codable, Equatable { var name: String; var counts: [[Int]] }
        let content = Content(name: "a", counts: [[1, 2], [3, 4]])
        let written = try DigestedJSON.encode(content)
        XCTAssertEqual(try DigestedJSON.decode(Content.self, from: written, file: "f", kind: "test checkpoint"), content)
        let text = String(decoding: written, as: UTF8.self)
        let digest = try XCTUnwrap(text.range(of: #"[0-9a-f]{64}"#, options: .regularExpression).map { String(text[$0]) })
        func decoded(_ variant: String) -> String {
            problem { _ = try DigestedJSON.decode(Content.self, from: Array(variant.utf8), file: "f", kind: "test checkpoint") }
        }
        // Edited values and re-spaced content are both edits of the file as written.
        XCTAssertTrue(decoded(text.replacingOccurrences(of: "[3,4]", with: "[3,5]")).contains("digest does not match"))
        XCTAssertTrue(decoded(text.replacingOccurrences(of: "[3,4]", with: "[3, 4]")).contains("digest does not match"))
        // A content key the scanner does not take literally: the canonical check decides.
        let escaped = #"{"c\u006fntent":{"counts":[[1,2],[3,4]],"name":"a"},"digest":"\#(digest)"}"#
        XCTAssertEqual(decoded(escaped), "accepted")
        XCTAssertTrue(decoded(escaped.replacingOccurrences(of: "[3,4]", with: "[3,5]")).contains("digest does not match"))
        XCTAssertTrue(decoded(#"{"content": 1, "digest": 7}"#).contains("not a test checkpoint"))
    }

    /// A plan larger than any plan of the model could be is refused by its size, before parsing.
    func testAPlanLargerThanTheModelAllowsIsRefusedUnread() throws {
        let network = try Network(manifest: manifest(), tensors: ["w": Tensor(zeros: [2, 16]), "b": Tensor(zeros: [2])], file: "m")
        let limit = SchedulePlan.maxFileBytes(for: network)
        XCTAssertEqual(limit, (1 << 20) + 64)
        let big = path("big.json")
        try Data(repeating: UInt8(ascii: " "), count: limit + 1).write(to: URL(fileURLWithPath: big))
        XCTAssertTrue(problem { _ = try SchedulePlan.load(from: big, maxBytes: limit) }.contains("larger than \(limit) bytes"))
    }

    func manifest(name: String = "m", input: [Int] = [1, 4, 4], layerName: String = "h0") -> Manifest {
        Manifest(name: name, input: InputSpec(shape: input, preprocessing: Preprocessing()), classes: ["a", "b"],
                 layers: [LayerSpec(type: "flatten"), LayerSpec(type: "dense", name: layerName, weight: "w", bias: "b")])
    }

    /// Model names become plan-store directories, layer names CSV fields.
    /// Foundation's parser takes `[1,]` and `{"a": 1,}`; our files refuse them.
    func testTrailingCommasAreRefused() throws {
        XCTAssertNil(StrictJSON.problem(in: Data(#"{"a": [1, 2], "b": "x,]", "c": "\",}"}"#.utf8)))
        XCTAssertEqual(StrictJSON.problem(in: Data("[1, 2 ,\n ]".utf8)), "trailing comma at byte 6 (not JSON)")
        XCTAssertNotNil(StrictJSON.problem(in: Data(#"{"a": {"b": 1,}}"#.utf8)))
        let profile = try FaultProfile(geometry: .init(blocks: 2, threads: 2), kind: .flip1, rates: [[0, 0.001], [0.002, 0.003]],
                                       origin: .synthetic(frMax: 0.003, seed: 1))
        let text = profile.json()
        XCTAssertNoThrow(try FaultProfile.decode(Data(text.utf8), file: "good.json"))
        for (name, edited) in [("object", text.replacingOccurrences(of: "\"seed\": 1\n", with: "\"seed\": 1,\n")),
                               ("array", text.replacingOccurrences(of: "]\n  ]", with: "],\n  ]"))] {
            XCTAssertNotEqual(edited, text, name)
            XCTAssertTrue(problem { _ = try FaultProfile.decode(Data(edited.utf8), file: name) }.contains("trailing comma"), name)
        }
    }

    func testNamesAreASafeCharacterSet() {
        XCTAssertEqual(problem { try self.manifest().validate(file: "m.zip") }, "accepted")
        for bad in ["../../escaped", "..", ".hidden", "a/b", "", "c,0\nX", String(repeating: "x", count: 65)] {
            XCTAssertTrue(problem { try self.manifest(name: bad).validate(file: "m.zip") }.contains("model name"), bad)
            let layer = problem { try self.manifest(layerName: bad).validate(file: "m.zip") }
            XCTAssertTrue(layer.contains("layer name") || (bad.isEmpty && layer.contains("empty")), "\(bad): \(layer)")
        }
    }

    /// An allowed but absurd input shape used to make has-run allocate gigabytes.
    func testHugeInputShapeIsRefusedBeforeAnyAllocation() {
        XCTAssertTrue(problem { try self.manifest(input: [1, 16384, 16384]).validate(file: "m.zip") }.contains("values per image"))
    }

    /// A 0×0 convolution kernel used to crash the device simulator and the planner.
    func testEmptyWeightDimensionsAreRefused() {
        let conv = Manifest(name: "m", input: InputSpec(shape: [1, 4, 4], preprocessing: Preprocessing()), classes: ["a", "b"],
                            layers: [LayerSpec(type: "conv2d", name: "c0", weight: "w", bias: "b", stride: [1, 1], padding: [0, 0, 0, 0]),
                                     LayerSpec(type: "flatten"), LayerSpec(type: "dense", name: "op", weight: "ow", bias: "ob")])
        let tensors = ["w": Tensor(shape: [2, 1, 0, 0], data: []), "b": Tensor(shape: [2], data: [0, 0]),
                       "ow": Tensor(shape: [2, 32], data: Array(repeating: 0, count: 64)), "ob": Tensor(shape: [2], data: [0, 0])]
        XCTAssertTrue(problem { _ = try Network(manifest: conv, tensors: tensors, file: "m.zip") }.contains("empty dimension"))
        let dense = ["w": Tensor(shape: [0, 16], data: []), "b": Tensor(shape: [0], data: [])]
        XCTAssertTrue(problem { _ = try Network(manifest: self.manifest(), tensors: dense, file: "m.zip") }.contains("empty dimension"))
    }

    /// A value cannot add columns or rows to a CSV file.
    func testCSVFieldsAreQuotedAsRFC4180Says() {
        XCTAssertEqual(CSV.field("c0"), "c0")
        XCTAssertEqual(CSV.field("c,0"), "\"c,0\"")
        XCTAssertEqual(CSV.field("a\"b"), "\"a\"\"b\"")
        XCTAssertEqual(CSV.field("c0\nX"), "\"c0\nX\"")
        XCTAssertEqual(CSV.field("x\ry"), "\"x\ry\"")
        XCTAssertEqual(CSV.row(["1", "a,b", "", "q\""]), "1,\"a,b\",,\"q\"\"\"")
    }

    /// A field the runtime does not know would be silently ignored; it is refused.
    func testUnknownLayerFieldsAreRefused() throws {
        let json = #"{"type": "relu", "dilation": [2, 2]}"#
        XCTAssertThrowsError(try JSONDecoder().decode(LayerSpec.self, from: Data(json.utf8))) { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.last?.stringValue, "dilation")
        }
        XCTAssertEqual(try JSONDecoder().decode(LayerSpec.self, from: Data(#"{"type": "relu"}"#.utf8)), LayerSpec(type: "relu"))
        // Through a bundle: one line naming the field.
        var manifest = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(self.manifest())) as! [String: Any]
        var layers = manifest["layers"] as! [[String: Any]]
        layers[0]["dilation"] = [2, 2]
        manifest["layers"] = layers
        let bytes = try JSONSerialization.data(withJSONObject: manifest)
        let tensors = ["w": Tensor(shape: [2, 16], data: Array(repeating: 0, count: 32)), "b": Tensor(shape: [2], data: [0, 0])]
        let bundle = ModelBundle(manifest: self.manifest(), tensors: tensors)
        try bundle.write(to: path("good.zip"))
        XCTAssertNoThrow(try ModelBundle.load(from: path("good.zip")))
        let archive = try ZipArchive.read(try readInputFile(path("good.zip"), maxBytes: 1 << 20, what: "x"), file: "good.zip")
        let entries = archive.map { $0.name == "manifest.json" ? ZipArchive.Entry(name: $0.name, data: Array(bytes)) : $0 }
        try writeFileAtomically(try ZipArchive.write(entries, file: "bad.zip"), to: path("bad.zip"))
        XCTAssertEqual(problem { _ = try ModelBundle.load(from: self.path("bad.zip")) },
                       "manifest.json: unknown field 'layers[0].dilation' (docs/bundle-format.md lists a layer's fields)")
    }

    /// A writer killed mid-write leaves `.NAME.tmp-PID-N`; the next write of NAME removes it
    /// once that process is gone, and never a live writer's.
    func testStaleTemporariesOfDeadWritersAreRemoved() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = path(".plan.json.tmp-\(child.processIdentifier)-7"), live = path(".plan.json.tmp-\(getpid())-8")
        for file in [dead, live] { XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8))) }
        try writeFileAtomically("{}", to: path("plan.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
        XCTAssertEqual(try String(contentsOfFile: path("plan.json"), encoding: .utf8), "{}")
    }

    /// A held lock makes a non-waiting taker fail at once with one line; released, it is free.
    func testFileLockIsExclusive() throws {
        let first = try FileLock(path: dir.path)
        XCTAssertThrowsError(try FileLock(path: dir.path, wait: false, holder: "the first")) { error in
            XCTAssertEqual((error as? InputError)?.problem, "locked: the first holds it")
        }
        first.unlock()
        XCTAssertNoThrow(try FileLock(path: dir.path, wait: false))
        XCTAssertNoThrow(try FileLock(path: path("file.lock"), wait: false))
    }

    /// An empty image set used to print "accuracy nan%" and kill --json with an EncodingError.
    func testAnEmptyImageSetIsRefusedBeforeAnyOutput() throws {
        try IDXImages(count: 0, height: 4, width: 4, pixels: []).write(to: path("none.gz"), gzip: true)
        let input = InputSpec(shape: [1, 4, 4], preprocessing: Preprocessing())
        XCTAssertEqual(problem {
            _ = try ImageSet.open(images: self.path("none.gz"), labels: nil, limit: nil, input: input, model: "m", classCount: 2)
        }, "holds no images")
    }

    /// A parent that is a file, or a directory that cannot be written, is one line, found before any work.
    func testOutputPathsAreCheckedInOneLine() throws {
        try Data("x".utf8).write(to: URL(fileURLWithPath: path("file")))
        XCTAssertEqual(problem { try checkWritable(self.path("file/sub/plan.json")) }, "is a file, not a directory")
        XCTAssertEqual(problem { try checkWritable(self.dir.path) }, "is a directory")
        XCTAssertEqual(problem { try checkWritable(self.path("new/deeper/plan.json")) }, "accepted")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("new/deeper")))
        if getuid() != 0 {  // root writes anywhere
            XCTAssertEqual(chmod(path("new"), 0o500), 0)
            XCTAssertTrue(problem { try checkWritable(self.path("new/plan.json")) }.hasPrefix("cannot be written"))
        }
    }
}
