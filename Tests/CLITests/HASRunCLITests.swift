import Foundation
import HASRuntime
import XCTest

/// Runs the built `has-run` binary: exit codes, one-line errors, outputs.
final class HASRunCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("has-run-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A 12×12 three-class model and 20 labelled images, written with the runtime's writers.
    func makeFixtures() throws -> (model: String, images: String, labels: String) {
        var rng = SplitMix64(seed: 21)
        func t(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextSignedUnit() }) }
        let manifest = Manifest(
            name: "tiny", input: InputSpec(shape: [1, 12, 12], preprocessing: Preprocessing()), classes: ["a", "b", "c"],
            layers: [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1], padding: [1, 1, 1, 1]),
                     LayerSpec(type: "relu"), LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]),
                     LayerSpec(type: "flatten"), LayerSpec(type: "dense", name: "op", weight: "op.weight", bias: "op.bias"),
                     LayerSpec(type: "softmax")])
        let bundle = ModelBundle(manifest: manifest, tensors: ["c0.weight": t([2, 1, 3, 3]), "c0.bias": t([2]),
                                                               "op.weight": t([3, 72]), "op.bias": t([3])])
        try bundle.write(to: path("tiny.zip"))
        let pixels = (0..<(20 * 144)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try IDXImages(count: 20, height: 12, width: 12, pixels: pixels).write(to: path("images.gz"), gzip: true)
        try IDXLabels(labels: (0..<20).map { UInt8($0 % 3) }).write(to: path("labels.gz"), gzip: true)
        return (path("tiny.zip"), path("images.gz"), path("labels.gz"))
    }

    func testJSONReportAndOutputFiles() throws {
        let f = try makeFixtures()
        let run = try CLI.run("has-run", ["--model", f.model, "--images", f.images, "--labels", f.labels, "--json",
                                          "--batch", "7", "--output", path("p.csv")])
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(report["model"] as? String, "tiny")
        XCTAssertEqual(report["images"] as? Int, 20)
        let accuracy = try XCTUnwrap(report["accuracy"] as? Double)
        XCTAssertEqual(accuracy, Double(try XCTUnwrap(report["correct"] as? Int)) / 20, accuracy: 1e-12)
        // The throughput is the images classified over the time reported for them (not a rate of something else).
        let seconds = try XCTUnwrap(report["seconds"] as? Double), rate = try XCTUnwrap(report["images_per_second"] as? Double)
        XCTAssertGreaterThan(seconds, 0)
        XCTAssertEqual(rate * seconds, 20, accuracy: 1e-6)
        let csv = try String(contentsOfFile: path("p.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "index,name,prediction,class,confidence,label")
        XCTAssertEqual(csv.count, 21)

        // The same predictions at another batch size and thread count, and through --limit.
        let again = try CLI.run("has-run", ["--model", String(f.model.dropLast(4)), "--images", f.images, "--labels", f.labels,
                                            "--batch", "1", "--threads", "1", "--output", path("p.jsonl"), "--limit", "5"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let lines = try String(contentsOfFile: path("p.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        for (jsonLine, csvLine) in zip(lines, csv.dropFirst()) {
            let row = try JSONSerialization.jsonObject(with: Data(jsonLine.utf8)) as! [String: Any]
            XCTAssertEqual("\(row["prediction"]!)", String(csvLine.split(separator: ",", omittingEmptySubsequences: false)[2]))
        }
        XCTAssertTrue(again.stdout.contains("accuracy"), again.stdout)
    }

    func testPNGImages() throws {
        let f = try makeFixtures()
        try GrayImage(height: 12, width: 12, pixels: [UInt8](repeating: 200, count: 144)).writePNG(to: path("a.png"))
        try GrayImage(height: 13, width: 12, pixels: [UInt8](repeating: 1, count: 156)).writePNG(to: path("big.png"))
        let ok = try CLI.run("has-run", ["--model", f.model, path("a.png")])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains(path("a.png")), ok.stdout)
        let bad = try CLI.run("has-run", ["--model", f.model, path("a.png"), path("big.png")])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("big.png: image is 13×12"), bad.stderr)
    }

    /// Each bad input: non-zero exit, one line on stderr naming the file, nothing on stdout, no output file.
    func testBadInputsGiveOneLineErrors() throws {
        let f = try makeFixtures()
        try Data("not a zip".utf8).write(to: URL(fileURLWithPath: path("junk.zip")))
        try IDXLabels(labels: [0, 1]).write(to: path("short.gz"), gzip: true)
        try IDXLabels(labels: [UInt8](repeating: 7, count: 20)).write(to: path("seven.gz"), gzip: true)
        var huge = Data([0, 0, 8, 3, 0x80, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28])  // claims 2^31 images
        huge.append(Data(count: 1000))
        try huge.write(to: URL(fileURLWithPath: path("huge.idx")))
        let cases: [([String], String)] = [
            (["--model", path("junk.zip"), "--images", f.images], "junk.zip: not a ZIP archive"),
            (["--model", path("missing.zip"), "--images", f.images], "missing.zip: cannot open"),
            (["--model", f.model, "--images", f.labels], "labels.gz"),
            (["--model", f.model, "--images", f.images, "--labels", path("short.gz")], "short.gz: has 2 labels but"),
            (["--model", f.model, "--images", f.images, "--labels", path("seven.gz")], "seven.gz"),
            (["--model", f.model, "--images", path("huge.idx")], "huge.idx"),
        ]
        for (arguments, expected) in cases {
            let run = try CLI.run("has-run", arguments + ["--output", path("never.csv")])
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(expected), "\(arguments): '\(run.stderr)' lacks '\(expected)'")
            XCTAssertEqual(run.stdout, "")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("never.csv")))
        }
        let usage = try CLI.run("has-run", ["--model", f.model])
        XCTAssertNotEqual(usage.status, 0)
        XCTAssertTrue(usage.stderr.contains("give --images FILE or one or more PNG files"), usage.stderr)
    }

    func testHelpDescribesEveryOption() throws {
        let help = try CLI.run("has-run", ["--help"])
        XCTAssertEqual(help.status, 0)
        for option in ["--model", "--images", "--labels", "--limit", "--batch", "--threads", "--output", "--json"] {
            XCTAssertTrue(help.stdout.contains(option), option)
        }
    }
}
