import Foundation
import HASDiagnosis
import HASRuntime
import XCTest

/// `has-diagnose synth` and `has-run --device`, through the built binaries.
final class DeviceCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("device-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func makeFixtures() throws -> (model: String, images: String, labels: String) { try DeviceFixtures.make(in: dir) }


    func testSynthWritesAReproducibleProfile() throws {
        let run = try CLI.run("has-diagnose", ["synth", "--kind", "flip1", "--fr-max", "5e-3", "--seed", "3987", "--out", path("dev.json")])
        XCTAssertEqual(run.status, 0, run.stderr)
        let profile = try FaultProfile.load(path: path("dev.json"))
        XCTAssertEqual(profile, try FaultProfile.synthetic(kind: .flip1, frMax: 5e-3, seed: 3987))
        XCTAssertTrue(run.stdout.contains("fingerprint \(profile.fingerprint)"), run.stdout)
        let again = try CLI.run("has-diagnose", ["synth", "--kind", "flip1", "--fr-max", "0.005", "--seed", "3987", "--out", path("again.json")])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("again.json"))), try Data(contentsOf: URL(fileURLWithPath: path("dev.json"))))

        let small = try CLI.run("has-diagnose", ["synth", "--kind", "tf32", "--fr-max", "0.5", "--seed", "1", "--blocks", "4",
                                                  "--threads", "8", "--exponent-bits", "0-7", "--out", path("small.json")])
        XCTAssertEqual(small.status, 0, small.stderr)
        let s = try FaultProfile.load(path: path("small.json"))
        XCTAssertEqual(s.geometry, .init(blocks: 4, threads: 8))
        XCTAssertEqual(s.kind, .tf32)
        XCTAssertEqual(s.exponentBits, .all8)

        for bad in [["--kind", "flip2"], ["--fr-max", "1.5"], ["--blocks", "0"]] {
            var args = ["synth", "--kind", "flip1", "--fr-max", "0.1", "--seed", "1", "--out", path("x.json")]
            if let i = args.firstIndex(of: bad[0]) { args[i + 1] = bad[1] } else { args += bad }
            let r = try CLI.run("has-diagnose", args)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("Error:"), r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.json")))
        let diagnose = try CLI.run("has-diagnose", ["diagnose"])
        XCTAssertNotEqual(diagnose.status, 0, "diagnosis needs a device")
        XCTAssertTrue(diagnose.stderr.contains("--device"), diagnose.stderr)
    }

    func testRunOnAFaultyDevice() throws {
        let f = try makeFixtures()
        let profile = try FaultProfile.synthetic(kind: .bitflip, frMax: 0.2, seed: 5, blocks: 4, threads: 8)
        try profile.write(to: path("dev.json"))
        func report(_ extra: [String]) throws -> [String: Any] {
            let run = try CLI.run("has-run", ["--model", f.model, "--images", f.images, "--labels", f.labels, "--json",
                                              "--device", path("dev.json"), "--seed", "12"] + extra)
            XCTAssertEqual(run.status, 0, run.stderr)
            return try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        }
        let a = try report(["--trials", "3"])
        let trials = try XCTUnwrap(a["trials"] as? [Double])
        XCTAssertEqual(trials.count, 3)
        XCTAssertEqual(try XCTUnwrap(a["accuracy"] as? Double), trials.reduce(0, +) / 3, accuracy: 1e-12)
        let mean = trials.reduce(0, +) / 3
        let std = (trials.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2).squareRoot()
        XCTAssertEqual(try XCTUnwrap(a["accuracy_std"] as? Double), std, accuracy: 1e-12)
        XCTAssertEqual(a["clean_accuracy"] as? Double, 1)
        XCTAssertEqual(a["fingerprint"] as? String, profile.fingerprint)
        XCTAssertEqual(a["faulty_layers"] as? [String], ["c0", "h0", "op"])
        XCTAssertEqual(a["model"] as? String, "tiny")
        XCTAssertEqual(a["images"] as? Int, 40)
        XCTAssertNotNil(a["images_per_second"] as? Double)
        XCTAssertLessThan(mean, 0.95, "a bitflip device at FR_max 0.2 must cost accuracy")

        // Same seed: the same trials whatever the batch size and threads; another seed: other draws.
        let b = try report(["--trials", "3", "--batch", "7", "--threads", "1"])
        XCTAssertEqual(b["trials"] as? [Double], trials)
        let c = try report(["--trials", "2", "--seed", "13"])
        XCTAssertEqual((c["trials"] as? [Double])?.first, trials[1], "trial i uses seed S + i")
        // Only op faulty: fewer faults.
        let op = try report(["--faulty-layers", "op"])
        XCTAssertEqual(op["faulty_layers"] as? [String], ["op"])
        XCTAssertEqual((op["trials"] as? [Double])?.count, 1)

        // Text report.
        let text = try CLI.run("has-run", ["--model", f.model, "--images", f.images, "--labels", f.labels,
                                           "--device", path("dev.json"), "--trials", "2"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("fingerprint \(profile.fingerprint)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("on the faulty device"), text.stdout)
        XCTAssertTrue(text.stdout.contains("clean 100.00%"), text.stdout)

        // Errors: an unknown layer, a bad profile, options without --device.
        let unknown = try CLI.run("has-run", ["--model", f.model, "--images", f.images, "--device", path("dev.json"),
                                              "--faulty-layers", "c0,h9"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("Error: --faulty-layers: model tiny has no weighted layer 'h9'"), unknown.stderr)
        try #"{"version": 1, "geometry": {"blocks": 1, "threads": 1}, "kind": "flip1", "origin": {"type": "synthetic", "fr_max": 1, "seed": 1}, "rates": [[2]]}"#
            .write(toFile: path("bad.json"), atomically: true, encoding: .utf8)
        let bad = try CLI.run("has-run", ["--model", f.model, "--images", f.images, "--device", path("bad.json")])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("Error: \(path("bad.json")): rates[0][0] is 2.0"), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        let orphan = try CLI.run("has-run", ["--model", f.model, "--images", f.images, "--trials", "3"])
        XCTAssertNotEqual(orphan.status, 0)
        XCTAssertTrue(orphan.stderr.contains("--trials go with --device"), orphan.stderr)
    }
}

enum DeviceFixtures {
    /// A 12×12 four-class model (conv c0, dense h0, dense op) and 40 labelled images in `dir`.
    static func make(in dir: URL, name: String = "tiny") throws -> (model: String, images: String, labels: String) {
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        var rng = SplitMix64(seed: 31)
        func t(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextSignedUnit() }) }
        let manifest = Manifest(
            name: name, input: InputSpec(shape: [1, 12, 12], preprocessing: Preprocessing()), classes: ["a", "b", "c", "d"],
            layers: [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1], padding: [1, 1, 1, 1]),
                     LayerSpec(type: "relu"), LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]),
                     LayerSpec(type: "flatten"), LayerSpec(type: "dense", name: "h0", weight: "h0.weight", bias: "h0.bias"),
                     LayerSpec(type: "relu"), LayerSpec(type: "dense", name: "op", weight: "op.weight", bias: "op.bias"),
                     LayerSpec(type: "softmax")])
        let bundle = ModelBundle(manifest: manifest, tensors: ["c0.weight": t([4, 1, 3, 3]), "c0.bias": t([4]),
                                                               "h0.weight": t([40, 144]), "h0.bias": t([40]),
                                                               "op.weight": t([4, 40]), "op.bias": t([4])])
        try bundle.write(to: path(name + ".zip"))
        let pixels = (0..<(40 * 144)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        try IDXImages(count: 40, height: 12, width: 12, pixels: pixels).write(to: path("images.gz"), gzip: true)
        // Labels = the clean predictions, so clean accuracy is 100% and faults can only cost.
        let network = try Network(manifest: manifest, tensors: bundle.tensors, file: "tiny")
        let set = try ImageSet.open(images: path("images.gz"), labels: nil, limit: nil, input: manifest.input, model: "tiny", classCount: 4)
        let predictions = network.predict(try set.source.batch(0..<40))
        try IDXLabels(labels: predictions.map { UInt8($0) }).write(to: path("labels.gz"), gzip: true)
        return (path(name + ".zip"), path("images.gz"), path("labels.gz"))
    }
}
