import CZlib
import Foundation
import XCTest
@testable import HASRuntime

/// Model bundles: round trips, interoperability with numpy, and one test per
/// way a bundle can be bad. Bad bundles are made here from a good bundle's
/// bytes, so each test shows exactly what is wrong.
final class BundleTests: XCTestCase {
    private var directory: URL!
    private var path: String { directory.appendingPathComponent("model.zip").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("BundleTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    // MARK: - Good bundles

    func testRoundTripAndStableDigest() throws {
        let bundle = Self.tinyBundle()
        try bundle.write(to: path)
        let loaded = try ModelBundle.load(from: path)
        XCTAssertEqual(loaded.manifest, bundle.manifest)
        XCTAssertEqual(loaded.tensors, bundle.tensors)
        XCTAssertEqual(loaded.weightsDigest, bundle.weightsDigest)

        let firstBytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try loaded.write(to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), firstBytes, "equal bundles must give equal files")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.zip"],
                       "no temporary file may be left behind")

        var changed = bundle
        changed.tensors["h0.bias"]!.data[0] += 1
        XCTAssertNotEqual(changed.weightsDigest, bundle.weightsDigest)
    }

    func testPythonZipfileAndNumpyReadWhatWeWrite() throws {
        try Self.requireNumpy()
        let bundle = Self.tinyBundle()
        try bundle.write(to: path)
        let script = """
            import json, sys, zipfile, numpy as np
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None, "bad CRC"
            manifest = json.loads(z.read("manifest.json"))
            npz = np.load(sys.argv[1])
            tensors = {}
            for key in npz.files:
                if key == "manifest.json":
                    continue
                a = npz[key]
                assert a.dtype == np.dtype("<f4") and a.flags["C_CONTIGUOUS"], key
                tensors[key] = {"shape": list(a.shape), "values": [float(v) for v in a.ravel()]}
            print(json.dumps({"manifest_name": manifest["name"], "layers": len(manifest["layers"]), "tensors": tensors}))
            """
        let output = try Self.run(["python3", "-c", script, path])
        struct Report: Decodable {
            struct Array: Decodable {
                var shape: [Int]
                var values: [Double]
            }
            var manifest_name: String
            var layers: Int
            var tensors: [String: Array]
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(output.utf8))
        XCTAssertEqual(report.manifest_name, bundle.manifest.name)
        XCTAssertEqual(report.layers, bundle.manifest.layers.count)
        XCTAssertEqual(Set(report.tensors.keys), Set(bundle.tensors.keys))
        for (name, tensor) in bundle.tensors {
            XCTAssertEqual(report.tensors[name]?.shape, tensor.shape, name)
            XCTAssertEqual(report.tensors[name]?.values.map { Float($0) }, tensor.data, name)
        }
    }

    /// Fixtures/make_numpy_bundle.py wrote tiny-numpy.zip with numpy and printed
    /// the digest below, computed in Python from the definition in
    /// docs/bundle-format.md.
    func testBundleMadeByNumpy() throws {
        let bundle = try ModelBundle.load(from: Self.fixture("tiny-numpy.zip"))
        XCTAssertEqual(bundle.manifest.name, "tiny-numpy")
        XCTAssertEqual(bundle.manifest.classes, ["a", "b", "c"])
        XCTAssertEqual(bundle.manifest.layers.map(\.type), ["conv2d", "relu", "maxpool2d", "flatten", "dense", "softmax"])
        XCTAssertEqual(bundle.manifest.layers[0].padding, [1, 1, 1, 1])
        XCTAssertEqual(bundle.manifest.provenance?.seed, 1234)
        XCTAssertEqual(bundle.tensors.mapValues(\.shape),
                       ["c0.weight": [4, 1, 3, 3], "c0.bias": [4], "h0.weight": [3, 64], "h0.bias": [3]])
        XCTAssertEqual(bundle.weightsDigest, "cdc1d2d3b51c6c99a43a6e5d837fa5f9b31cb20e8de0eeb39ac20d810dbc8bd3")

        let ioPath = Self.fixture("tiny-numpy-io.npz")
        let io = try ZipArchive.read(Array(Data(contentsOf: URL(fileURLWithPath: ioPath))), file: ioPath)
        let arrays = try Dictionary(uniqueKeysWithValues: io.map { ($0.name, try NPYArray.decode($0.data, file: ioPath)) })
        let inputs = try XCTUnwrap(arrays["inputs.npy"]), outputs = try XCTUnwrap(arrays["outputs.npy"])
        XCTAssertEqual(inputs.dtype, "<f4")
        XCTAssertEqual(inputs.shape, [5] + bundle.manifest.input.shape)
        XCTAssertEqual(outputs.shape, [5, bundle.manifest.classes.count])
        // The runtime's forward pass and the naive reference both give numpy's outputs.
        let network = try Network(manifest: bundle.manifest, tensors: bundle.tensors, file: "tiny-numpy.zip")
        let probabilities = network.probabilities(inputs.tensor)
        var logits = Tensor(shape: [5, 3], data: NaiveReference.forward(manifest: bundle.manifest, tensors: bundle.tensors,
                                                                       input: inputs.tensor).map(Float.init))
        Activations.softmax(&logits)
        for i in 0..<outputs.values.count {
            XCTAssertEqual(probabilities.data[i], outputs.values[i], accuracy: 1e-5, "runtime, element \(i)")
            XCTAssertEqual(logits.data[i], outputs.values[i], accuracy: 1e-5, "naive reference, element \(i)")
        }
    }

    /// The same bundle with every ZIP64 record Python writes (sizes, offsets,
    /// entry count and end record in 64-bit form).
    func testZip64BundleMatchesPlainOne() throws {
        let plain = try ModelBundle.load(from: Self.fixture("tiny-numpy.zip"))
        let zip64 = try ModelBundle.load(from: Self.fixture("tiny-zip64.zip"))
        XCTAssertEqual(zip64.manifest, plain.manifest)
        XCTAssertEqual(zip64.tensors, plain.tensors)
    }

    func testNPYEncodingLayoutAndOtherDtypes() throws {
        let tensor = Tensor(shape: [2, 3], data: [1, -2, 3.5, 0, .leastNonzeroMagnitude, -0.0])
        let bytes = NPYArray.encode(tensor)
        XCTAssertEqual(bytes.count, 128 + 24, "header padded to a multiple of 64 bytes")
        XCTAssertEqual(bytes[127], UInt8(ascii: "\n"))
        let decoded = try NPYArray.decode(bytes, file: "x.npy")
        XCTAssertEqual(decoded.dtype, "<f4")
        XCTAssertEqual(decoded.tensor.shape, tensor.shape)
        XCTAssertEqual(decoded.values.map(\.bitPattern), tensor.data.map(\.bitPattern))

        let doubles = Self.npy(descr: "<f8", shape: "(2,)", payload: [0.5, -3].flatMap { Self.float64Bytes($0) })
        XCTAssertEqual(try NPYArray.decode(doubles, file: "x.npy").values, [0.5, -3])
        for descr in ["|u1", "<u1", "u1"] {
            let array = try NPYArray.decode(Self.npy(descr: descr, shape: "(1, 3)", payload: [0, 7, 255]), file: "x.npy")
            XCTAssertEqual(array.shape, [1, 3])
            XCTAssertEqual(array.values, [0, 7, 255])
            XCTAssertEqual(array.dtype, descr)
        }
        XCTAssertEqual(try NPYArray.decode(Self.npy(descr: "<f4", shape: "()", payload: Self.float32Bytes(2)), file: "x.npy").values, [2])
    }

    func testBadNPYHeaders() {
        let cases: [(header: String, payload: [UInt8], problem: String)] = [
            ("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", [0, 0, 0, 0], "fortran_order is True"),
            ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0, 0, 0, 0, 0], "Python objects"),
            ("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0, 0, 0, 0, 0], "not supported"),
            ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0], "structured"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }", [], "negative dimension"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", [0, 0, 0, 0], "data is 4 bytes but shape (2,) of '<f4' needs 8"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4096, 4096, 4096), }", [], "over 268435456 elements"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", [], "integer too large"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (((((((((1,),),),),),),),),), }", [], "nested too deeply"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1, }", [0, 0, 0, 0], "unknown key 'extra'"),
            ("{'descr': '<f4', 'shape': (1,), }", [0, 0, 0, 0], "lacks"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ", [0, 0, 0, 0], "not a Python dict literal"),
        ]
        for (header, payload, problem) in cases {
            assertProblem(try NPYArray.decode(Self.npy(header: header, payload: payload), file: "x.npy"),
                          file: "x.npy", contains: [problem])
        }
        assertProblem(try NPYArray.decode(Array("NUMPY but not really".utf8), file: "x.npy"), file: "x.npy", contains: ["bad magic"])
        var future = Self.npy(descr: "<f4", shape: "()", payload: Self.float32Bytes(1))
        future[6] = 4
        assertProblem(try NPYArray.decode(future, file: "x.npy"), file: "x.npy", contains: ["version 4.0"])
        var longHeader = future
        longHeader[6] = 1
        longHeader[8] = 0xFF
        longHeader[9] = 0xFF
        assertProblem(try NPYArray.decode(longHeader, file: "x.npy"), file: "x.npy", contains: ["runs past the end"])
    }

    func testWriteRefusesAnInvalidBundleAndLeavesNoFile() {
        var bundle = Self.tinyBundle()
        bundle.tensors["c0.weight"]!.data[2] = .nan
        assertProblem(try bundle.write(to: path), contains: ["entry c0.weight.npy: element 2 is NaN"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    // MARK: - Bad archives

    func testTruncatedFile() throws {
        let good = try goodBytes()
        assertRefused(Array(good.prefix(good.count / 2)), mentions: ["truncated", "end-of-central-directory"])
        assertRefused(Array(good.dropLast()), mentions: ["truncated", "end-of-central-directory"])
    }

    func testNotAZip() {
        var generator = SplitMix64(seed: 7)
        assertRefused((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) },
                      mentions: ["not a ZIP archive (no end-of-central-directory record)"])
        assertRefused([], mentions: ["not a ZIP archive"])
    }

    func testCRCMismatch() throws {
        var bytes = try goodBytes()
        bytes[try Self.centralHeader(of: "c0.weight.npy", in: bytes) + 16] ^= 0x01
        assertRefused(bytes, mentions: ["entry c0.weight.npy: CRC mismatch"])
    }

    /// A flipped bit in deflate data surfaces as bad codes, a wrong length or
    /// a CRC mismatch, depending on where it lands; all must be caught.
    func testFlippedDataByte() throws {
        var bytes = try goodBytes()
        let central = try Self.centralHeader(of: "h0.weight.npy", in: bytes)
        let local = Self.u32(bytes, central + 42)
        let dataStart = local + 30 + Self.u16(bytes, local + 26) + Self.u16(bytes, local + 28)
        bytes[dataStart + Self.u32(bytes, central + 20) / 2] ^= 0x10
        assertRefused(bytes, mentions: ["entry h0.weight.npy: "]) { problem in
            ["CRC mismatch", "corrupt deflate data", "inflates", "truncated"].contains { problem.contains($0) }
        }
    }

    func testFlippedByteInStoredEntry() throws {
        let data = NPYArray.encode(Self.tinyBundle().tensors["h0.weight"]!)
        var flipped = data
        flipped[100] ^= 0x01
        let bytes = Self.archive(name: "h0.weight.npy", method: 0, compressed: flipped, crc: ZipArchive.crc32(data), size: data.count)
        assertRefused(bytes, mentions: ["entry h0.weight.npy: CRC mismatch"])
    }

    func testEntryDeclaringAHugeUncompressedSize() throws {
        var bytes = try goodBytes()
        let central = try Self.centralHeader(of: "h0.weight.npy", in: bytes)
        Self.setU32(&bytes, central + 24, 0xFFFF_FF00)
        assertRefused(bytes, mentions: ["entry h0.weight.npy: declares 4294967040 bytes uncompressed", "limit"])
        Self.setU32(&bytes, central + 24, Self.u32(bytes, central + 20) * 1001)
        assertRefused(bytes, mentions: ["entry h0.weight.npy: declares", "ratio over 1000:1"])
    }

    /// 200 MB of zeros deflated to ~200 KB: refused by its ratio when it
    /// declares its real size, and cut off at the declared size when it lies;
    /// never allocated either way.
    func testRealZipBomb() throws {
        let bomb = Self.zerosBomb
        let honest = Self.archive(name: "c0.weight.npy", compressed: bomb.compressed, crc: bomb.crc, size: bomb.size)
        assertRefused(honest, mentions: ["entry c0.weight.npy: declares 209715200 bytes", "ratio over 1000:1"])
        let lying = Self.archive(name: "c0.weight.npy", compressed: bomb.compressed, crc: bomb.crc, size: 1 << 20)
        assertRefused(lying, mentions: ["entry c0.weight.npy: inflates past its declared size of 1048576 bytes"])

        // The lying bomb (now at `path`) loaded by has-run with 64 MB of private memory: has-run needs
        // ~20 MB for this (measured), and inflating the bomb 200 MB more, which would crash it instead.
        let child = try MemoryLimitedChild.run("has-run", ["--model", path, "--images", "unused"], limitMegabytes: 64)
        XCTAssertTrue(child.exitedNormally && child.status == 1, "has-run crashed: the reader allocated the bomb? \(child.stderr)")
        XCTAssertTrue(child.stderr.contains("inflates past its declared size"), child.stderr)
    }

    /// The cap of `testRealZipBomb` does bite: a real model of ~25 MB of weights does not load under 16 MB.
    func testMemoryCapStopsAnAllocationOverIt() throws {
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Models/mnist32-cnn.zip").path
        let capped = try MemoryLimitedChild.run("has-run", ["--model", model, "--images", "unused"], limitMegabytes: 16)
        XCTAssertFalse(capped.exitedNormally, "a 25 MB model loaded in 16 MB: the cap does not hold. \(capped.stderr)")
        let free = try MemoryLimitedChild.run("has-run", ["--model", model, "--images", "unused"], limitMegabytes: 512)
        XCTAssertTrue(free.stderr.contains("unused: cannot open"), "the model itself must load: \(free.stderr)")
    }

    func testEntryNameWithDotDot() throws {
        assertRefused(Self.patch(try goodBytes(), "c0.bias.npy", "../bias.npy"), mentions: ["entry name \"../bias.npy\" contains '..'"])
    }

    func testEntryNameWithSlash() throws {
        assertRefused(Self.patch(try goodBytes(), "c0.bias.npy", "c0/bias.npy"), mentions: ["\"c0/bias.npy\" contains a path separator"])
    }

    func testDuplicateEntryNames() throws {
        assertRefused(Self.patch(try goodBytes(), "c0.bias.npy", "h0.bias.npy"), mentions: ["duplicate entry h0.bias.npy"])
    }

    func testOverlappingEntries() throws {
        var bytes = try goodBytes()
        let first = try Self.centralHeader(of: "c0.bias.npy", in: bytes)
        let second = try Self.centralHeader(of: "c0.weight.npy", in: bytes)
        Self.setU32(&bytes, second + 42, Self.u32(bytes, first + 42))
        assertRefused(bytes, mentions: ["overlaps"])
    }

    // MARK: - Bad contents

    func testWrongDtype() throws {
        let weight = Self.tinyBundle().tensors["h0.weight"]!
        let doubles = Self.npy(descr: "<f8", shape: "(3, 64)", payload: weight.data.flatMap { Self.float64Bytes($0) })
        assertRefused(try replacing("h0.weight.npy", with: doubles), mentions: ["entry h0.weight.npy: dtype '<f8' is not float32; expected '<f4'"])
    }

    func testBigEndian() throws {
        var npy = NPYArray.encode(Self.tinyBundle().tensors["h0.weight"]!)
        npy = Self.patch(npy, "'<f4'", "'>f4'")
        assertRefused(try replacing("h0.weight.npy", with: npy), mentions: ["entry h0.weight.npy: dtype '>f4' is big-endian; expected '<f4'"])
    }

    func testAbsurdDimensionInNPYHeader() throws {
        let npy = Self.npy(descr: "<f4", shape: "(1099511627776,)", payload: Self.float32Bytes(1))
        assertRefused(try replacing("h0.bias.npy", with: npy),
                      mentions: ["entry h0.bias.npy: shape (1099511627776,) has a dimension over the limit of 16777216"])
    }

    func testShapeChainDisagreesWithTensors() throws {
        var manifest = Self.tinyBundle().manifest
        manifest.input.shape = [2, 8, 8]
        assertRefused(try replacing("manifest.json", with: Self.json(manifest)),
                      mentions: ["layer c0: weight is [4, 1, 3, 3] but its input has 2 channels"])
        manifest.input.shape = [1, 10, 10]
        assertRefused(try replacing("manifest.json", with: Self.json(manifest)),
                      mentions: ["layer h0: weight is [3, 64] but its input has 100 features"])
        manifest.input.shape = [1, 8, 8]
        manifest.classes.append("d")
        assertRefused(try replacing("manifest.json", with: Self.json(manifest)),
                      mentions: ["the network outputs 3 values but the manifest lists 4 classes"])
    }

    func testMissingTensor() throws {
        assertRefused(try replacing("h0.bias.npy", with: nil), mentions: ["layer h0: tensor 'h0.bias' is missing (no entry h0.bias.npy)"])
    }

    func testMissingManifest() throws {
        assertRefused(try replacing("manifest.json", with: nil), mentions: ["manifest.json is missing"])
    }

    func testNaNWeight() throws {
        var weight = Self.tinyBundle().tensors["c0.weight"]!
        weight.data[5] = .nan
        assertRefused(try replacing("c0.weight.npy", with: NPYArray.encode(weight)), mentions: ["entry c0.weight.npy: element 5 is NaN"])
    }

    func testInfWeight() throws {
        var bias = Self.tinyBundle().tensors["h0.bias"]!
        bias.data[1] = -.infinity
        assertRefused(try replacing("h0.bias.npy", with: NPYArray.encode(bias)), mentions: ["entry h0.bias.npy: element 1 is infinite"])
    }

    func testManifestNotJSON() throws {
        assertRefused(try replacing("manifest.json", with: Array("{\"format\": \"has-bundle\",".utf8)),
                      mentions: ["manifest.json is not valid JSON"])
    }

    func testManifestNumberThatDoesNotFit() throws {
        let json = String(decoding: Self.json(Self.tinyBundle().manifest), as: UTF8.self)
            .replacingOccurrences(of: "\"format_version\":1", with: "\"format_version\":1e300")
        assertRefused(try replacing("manifest.json", with: Array(json.utf8)), mentions: ["manifest.json: a number is out of range"])
    }

    func testManifestSchemaViolations() throws {
        let cases: [(change: (inout Manifest) -> Void, problem: String)] = [
            ({ $0.format = "other" }, "manifest.json: format is 'other', expected 'has-bundle'"),
            ({ $0.formatVersion = 2 }, "manifest.json: format_version 2 is not supported (this reader knows 1)"),
            ({ $0.input.shape = [8, 8] }, "input shape [8, 8] is not 3-D [C, H, W]"),
            ({ $0.input.shape = [1, 0, 8] }, "input shape [1, 0, 8] must have positive dimensions"),
            ({ $0.input.preprocessing.resize = "nearest" }, "resize 'nearest' is not 'none' or 'bilinear'"),
            ({ $0.classes = [] }, "manifest.json: classes is empty"),
            ({ $0.layers[0].stride = [0, 1] }, "layer c0: stride [0, 1] must be [sh, sw]"),
            ({ $0.layers[0].padding = [1, 1, 1] }, "layer c0: padding [1, 1, 1] must be [top, left, bottom, right]"),
            ({ $0.layers[0].padding = [1, -1, 1, 1] }, "layer c0: padding [1, -1, 1, 1] must be"),
            ({ $0.layers[0].kernel = [3, 3] }, "layer c0: conv2d takes no 'kernel'"),
            ({ $0.layers[0].bias = nil }, "layer c0: conv2d needs 'bias'"),
            ({ $0.layers[2].kernel = nil }, "layer 2 (maxpool2d): maxpool2d needs 'kernel'"),
            ({ $0.layers[1] = LayerSpec(type: "dropout", rate: 1.5) }, "layer 1 (dropout): dropout rate 1.5 is not in [0, 1)"),
            ({ $0.layers[4].name = "c0" }, "layer c0: name is used by an earlier layer"),
            ({ $0.layers.remove(at: 3) }, "layer h0: dense needs a flat input; add a flatten layer before it"),
            ({ $0.layers[2].kernel = [9, 9] }, "layer 2 (maxpool2d): kernel 9×9 is larger than its input 8×8"),
            ({ $0.layers[4].weight = "c0.weight" }, "layer h0: 'c0.weight' is [4, 1, 3, 3] but must be rank 2 [out, in]"),
            ({ $0.layers[4].bias = "c0.bias" }, "layer h0: bias is [4] but the weight has 3 outputs"),
        ]
        for (change, problem) in cases {
            var manifest = Self.tinyBundle().manifest
            change(&manifest)
            assertRefused(try replacing("manifest.json", with: Self.json(manifest)), mentions: [problem])
        }
    }

    /// Random corruption of the archive and of the entries inside it: every
    /// outcome must be a bundle or an InputError, never a trap.
    func testRandomCorruptionNeverCrashes() throws {
        let good = try goodBytes()
        let entries = try ZipArchive.read(good, file: path)
        var generator = SplitMix64(seed: 2024)
        for round in 0..<160 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = good
                for _ in 0...Int.random(in: 0...3, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            } else {
                var spoiled = entries
                let index = Int.random(in: 0..<spoiled.count, using: &generator)
                let headerEnd = min(spoiled[index].data.count, spoiled[index].name == "manifest.json" ? .max : 128)
                spoiled[index].data[Int.random(in: 0..<headerEnd, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                bytes = try ZipArchive.write(spoiled, file: path)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                _ = try ModelBundle.load(from: path)
            } catch let error as InputError {
                XCTAssertEqual(error.file, path)
            }
        }
    }

    func testUnknownLayerType() throws {
        var manifest = Self.tinyBundle().manifest
        manifest.layers[1].type = "conv3d"
        assertRefused(try replacing("manifest.json", with: Self.json(manifest)),
                      mentions: ["layer 1 (conv3d): unknown layer type 'conv3d'"])
    }

    // MARK: - Helpers: the good bundle and ways to spoil it

    /// The fixture network (see Fixtures/make_numpy_bundle.py) with simple weights.
    static func tinyBundle() -> ModelBundle {
        func values(_ count: Int, _ scale: Float) -> [Float] { (0..<count).map { Float($0 % 7 - 3) * scale } }
        let manifest = Manifest(
            name: "tiny", input: InputSpec(shape: [1, 8, 8], preprocessing: Preprocessing()),
            classes: ["a", "b", "c"],
            layers: [
                LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1], padding: [1, 1, 1, 1]),
                LayerSpec(type: "relu"),
                LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]),
                LayerSpec(type: "flatten"),
                LayerSpec(type: "dense", name: "h0", weight: "h0.weight", bias: "h0.bias"),
                LayerSpec(type: "softmax"),
            ],
            provenance: Provenance(seed: 1, notes: "BundleTests"))
        return ModelBundle(manifest: manifest, tensors: [
            "c0.weight": Tensor(shape: [4, 1, 3, 3], data: values(36, 0.25)),
            "c0.bias": Tensor(shape: [4], data: values(4, 0.1)),
            "h0.weight": Tensor(shape: [3, 64], data: values(192, 0.125)),
            "h0.bias": Tensor(shape: [3], data: values(3, 0.5)),
        ])
    }

    private func goodBytes() throws -> [UInt8] {
        try Self.tinyBundle().write(to: path)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The good bundle with one entry's bytes replaced, or removed if nil.
    private func replacing(_ name: String, with data: [UInt8]?) throws -> [UInt8] {
        var entries = try ZipArchive.read(try goodBytes(), file: path)
        let index = try XCTUnwrap(entries.firstIndex { $0.name == name })
        if let data { entries[index].data = data } else { entries.remove(at: index) }
        return try ZipArchive.write(entries, file: path)
    }

    /// Writes `bytes` as the bundle and checks that loading throws an
    /// `InputError` for `path` whose problem holds every string in `mentions`
    /// (and satisfies `also`).
    private func assertRefused(_ bytes: [UInt8], mentions: [String], also: ((String) -> Bool)? = nil,
                               line: UInt = #line) {
        XCTAssertNoThrow(try Data(bytes).write(to: URL(fileURLWithPath: path)), line: line)
        assertProblem(try ModelBundle.load(from: path), contains: mentions, also: also, line: line)
    }

    private func assertProblem<T>(_ expression: @autoclosure () throws -> T, file: String? = nil, contains: [String],
                                  also: ((String) -> Bool)? = nil, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), line: line) { error in
            guard let error = error as? InputError else { return XCTFail("not an InputError: \(error)", line: line) }
            XCTAssertEqual(error.file, file ?? path, line: line)
            for text in contains {
                XCTAssertTrue(error.problem.contains(text), "'\(error.problem)' does not mention '\(text)'", line: line)
            }
            if let also { XCTAssertTrue(also(error.problem), "unexpected problem '\(error.problem)'", line: line) }
        }
    }

    private static func json(_ manifest: Manifest) -> [UInt8] {
        Array(try! JSONEncoder().encode(manifest))
    }

    /// Replaces every occurrence of `old` with `new`, of the same length.
    private static func patch(_ bytes: [UInt8], _ old: String, _ new: String) -> [UInt8] {
        let (old, new) = (Array(old.utf8), Array(new.utf8))
        precondition(old.count == new.count)
        var bytes = bytes
        var index = 0
        while index + old.count <= bytes.count {
            if bytes[index..<index + old.count].elementsEqual(old) {
                bytes.replaceSubrange(index..<index + old.count, with: new)
                index += old.count
            } else {
                index += 1
            }
        }
        return bytes
    }

    /// Offset of the central-directory header of entry `name`.
    private static func centralHeader(of name: String, in bytes: [UInt8]) throws -> Int {
        let signature: [UInt8] = [0x50, 0x4b, 0x01, 0x02]
        let name = Array(name.utf8)
        return try XCTUnwrap((0..<bytes.count - 46).first { offset in
            bytes[offset..<offset + 4].elementsEqual(signature) && u16(bytes, offset + 28) == name.count
                && bytes[(offset + 46)...].starts(with: name)
        })
    }

    private static func u16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    private static func u32(_ bytes: [UInt8], _ at: Int) -> Int { u16(bytes, at) | u16(bytes, at + 2) << 16 }
    private static func setU32(_ bytes: inout [UInt8], _ at: Int, _ value: Int) {
        for index in 0..<4 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    private static func bytes<T: FixedWidthInteger>(littleEndian value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
    private static func float32Bytes(_ value: Float) -> [UInt8] { bytes(littleEndian: value.bitPattern) }
    private static func float64Bytes(_ value: Float) -> [UInt8] { bytes(littleEndian: Double(value).bitPattern) }

    /// A version 1.0 `.npy` file with any header text, padded like numpy's.
    private static func npy(header: String, payload: [UInt8]) -> [UInt8] {
        var header = header
        header += String(repeating: " ", count: 63 - (10 + header.utf8.count + 1 + 63) % 64) + "\n"
        return [0x93] + Array("NUMPY".utf8) + [1, 0] + bytes(littleEndian: UInt16(header.utf8.count)) + Array(header.utf8) + payload
    }

    private static func npy(descr: String, shape: String, payload: [UInt8]) -> [UInt8] {
        npy(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }", payload: payload)
    }

    // MARK: - Helpers: zip bomb

    /// 200 MB of zeros, raw-deflated at level 9 a megabyte at a time, with its CRC.
    private static let zerosBomb: (compressed: [UInt8], crc: UInt32, size: Int) = {
        let size = 200 << 20
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var stream = z_stream()
        precondition(deflateInit2_(&stream, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var compressed: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var crc: uLong = 0
        for chunk in 0..<size / zeros.count {
            let flush = chunk == size / zeros.count - 1 ? Z_FINISH : Z_NO_FLUSH
            zeros.withUnsafeBufferPointer { input in
                crc = crc32_z(crc, input.baseAddress, input.count)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                repeat {
                    buffer.withUnsafeMutableBufferPointer { output in
                        stream.next_out = output.baseAddress
                        stream.avail_out = uInt(output.count)
                        _ = deflate(&stream, flush)
                        compressed += output[0..<output.count - Int(stream.avail_out)]
                    }
                } while stream.avail_out == 0
            }
        }
        return (compressed, UInt32(crc), size)
    }()

    /// A one-entry archive (deflate unless `method` says otherwise) whose
    /// headers say whatever `crc` and `size` say.
    private static func archive(name: String, method: Int = 8, compressed: [UInt8], crc: UInt32, size: Int) -> [UInt8] {
        let name = Array(name.utf8)
        func fields(_ values: [(Int, Int)]) -> [UInt8] {
            values.flatMap { value, width in (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        }
        let common = fields([(20, 2), (0, 2), (method, 2), (0, 2), (0x21, 2), (Int(crc), 4), (compressed.count, 4), (size, 4), (name.count, 2), (0, 2)])
        let local = fields([(0x0403_4b50, 4)]) + common + name
        let central = fields([(0x0201_4b50, 4), (20, 2)]) + common + fields([(0, 2), (0, 2), (0, 2), (0, 4), (0, 4)]) + name
        let end = fields([(0x0605_4b50, 4), (0, 2), (0, 2), (1, 2), (1, 2), (central.count, 4), (local.count + compressed.count, 4), (0, 2)])
        return local + compressed + central + end
    }

    // MARK: - Helpers: fixtures and Python

    private static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    /// Fails (never skips) without numpy: a skip would pass CI without checking the round trip.
    private static func requireNumpy(file: StaticString = #filePath, line: UInt = #line) throws {
        do {
            try run(["python3", "-c", "import numpy"])
        } catch {
            XCTFail("python3 with numpy is needed (Debian: python3-numpy, see Tools/scripts/install-deps.sh): \(error)",
                    file: file, line: line)
            throw error
        }
    }

    /// Runs a command through /usr/bin/env and returns its standard output;
    /// throws if it exits non-zero.
    @discardableResult
    private static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw InputError(file: arguments[0], "exited with \(process.terminationStatus): \(errorText)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
