import CPNG
import CZlib
import Foundation
import XCTest
@testable import HASRuntime

final class DataTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("DataTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// Writes raw bytes to a file in the test directory and returns its path.
    private func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    private func bytes(of path: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The InputError `body` throws; fails if it throws something else or nothing.
    private func inputError(_ body: () throws -> Void, file: StaticString = #filePath,
                            line: UInt = #line) -> InputError? {
        do {
            try body()
            XCTFail("no error thrown", file: file, line: line)
        } catch let error as InputError {
            return error
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return nil
    }

    /// The problem text of the InputError `body` throws.
    private func problem(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        inputError(body, file: file, line: line)?.problem ?? ""
    }

    private func idxHeader(_ type: UInt8, _ dims: [UInt32]) -> [UInt8] {
        [0, 0, 0x08, type] + dims.flatMap { d in (0..<4).map { UInt8(truncatingIfNeeded: d >> (24 - 8 * $0)) } }
    }

    private func sampleImages(count: Int = 5, height: Int = 4, width: Int = 3) -> IDXImages {
        var rng = SystemRandomNumberGenerator()
        let pixels = (0..<count * height * width).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return IDXImages(count: count, height: height, width: width, pixels: pixels)
    }

    // MARK: IDX

    func testIDXRoundTripRawAndGzip() throws {
        let images = sampleImages()
        let labels = IDXLabels(labels: [3, 1, 4, 1, 5])
        for gzip in [false, true] {
            let imagePath = path("images-\(gzip)"), labelPath = path("labels-\(gzip)")
            try images.write(to: imagePath, gzip: gzip)
            try labels.write(to: labelPath, gzip: gzip)
            XCTAssertEqual(try bytes(of: imagePath).prefix(2) == [0x1f, 0x8b], gzip)
            XCTAssertEqual(try IDXImages.read(path: imagePath), images)
            XCTAssertEqual(try IDXLabels.read(path: labelPath), labels)

            let firstTwo = try IDXImages.read(path: imagePath, limit: 2)
            XCTAssertEqual(firstTwo.count, 2)
            XCTAssertEqual(firstTwo.pixels, Array(images.pixels.prefix(2 * 4 * 3)))
            XCTAssertEqual(try IDXImages.read(path: imagePath, limit: 50), images)
            XCTAssertEqual(try IDXLabels.read(path: labelPath, limit: 3).labels, [3, 1, 4])
        }
        let empty = IDXImages(count: 0, height: 28, width: 28, pixels: [])
        try empty.write(to: path("empty.gz"), gzip: true)
        XCTAssertEqual(try IDXImages.read(path: path("empty.gz")), empty)
    }

    func testRealMNISTTestSet() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let mnist = repository.appendingPathComponent("../shared/datasets/mnist").standardized
        let imagePath = mnist.appendingPathComponent("t10k-images-idx3-ubyte.gz").path
        let labelPath = mnist.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path
        // Missing data fails the test: a skip would pass CI without checking anything.
        guard [imagePath, labelPath].allSatisfy(FileManager.default.fileExists(atPath:)) else {
            return XCTFail("MNIST test set not found in \(mnist.path) (the project's ../shared/datasets/mnist)")
        }
        let images = try IDXImages.read(path: imagePath)
        XCTAssertEqual([images.count, images.height, images.width], [10000, 28, 28])
        let labels = try IDXLabels.read(path: labelPath)
        XCTAssertEqual(labels.count, 10000)
        XCTAssertEqual(Array(labels.labels.prefix(5)), [7, 2, 1, 0, 4])
        XCTAssertNoThrow(try labels.check(classCount: 10, file: labelPath))
        XCTAssertEqual(problem { try labels.check(classCount: 5, file: labelPath) },
                       "label 7 of image 0 is not a class of the model, which has 5 (0…4)")
        XCTAssertEqual(try IDXImages.read(path: imagePath, limit: 3).pixels, Array(images.pixels.prefix(3 * 784)))
    }

    func testWrongMagic() throws {
        let raw = try file("bad", [0x12, 0x34, 0x56, 0x78] + [UInt8](repeating: 0, count: 100))
        XCTAssertEqual(problem { _ = try IDXImages.read(path: raw) },
                       "not an IDX file: it starts with 12 34 56 78, IDX files with 00 00 08 03 (images) "
                       + "or 00 00 08 01 (labels)")
        let floats = try file("floats", [0, 0, 0x0d, 3] + [UInt8](repeating: 0, count: 12))
        XCTAssertEqual(problem { _ = try IDXImages.read(path: floats) },
                       "IDX value type 0xd is not supported: only unsigned bytes (0x08)")
        XCTAssertTrue(problem { _ = try IDXImages.read(path: try self.file("short", [0, 0])) }
            .hasPrefix("file ends after 2 bytes, inside the IDX header"))
        XCTAssertTrue(problem { _ = try IDXImages.read(path: self.path("missing")) }
            .hasPrefix("cannot open: No such file"))
    }

    func testHeaderClaimingHugeDataIsRefusedBeforeAllocating() throws {
        // 2^31 images of 28×28 (1.7 TB) in a 1 kB file, raw and gzip.
        let claim = idxHeader(3, [1 << 31, 28, 28])
        let padded = claim + [UInt8](repeating: 0, count: 1024 - claim.count)
        let raw = try file("huge", padded)
        XCTAssertEqual(problem { _ = try IDXImages.read(path: raw) },
                       "header claims 2147483648 images of 28×28 (1683627180032 bytes) but the file has only 1008 "
                       + "after the header")
        let gzip = try file("huge.gz", Gzip.compress(padded))
        let size = try bytes(of: gzip).count
        XCTAssertEqual(problem { _ = try IDXImages.read(path: gzip, limit: 1) },
                       "header claims 2147483648 images of 28×28 (1683627180032 bytes), more than a \(size)-byte "
                       + "gzip file can hold")
        let overflow = try file("overflow", idxHeader(3, [.max, .max, .max]))
        XCTAssertEqual(problem { _ = try IDXImages.read(path: overflow) },
                       "header claims 4294967295 images of 4294967295×4294967295: too many values to count")
        let labels = try file("labels", idxHeader(1, [1000]) + [1, 2])
        XCTAssertEqual(problem { _ = try IDXLabels.read(path: labels) },
                       "header claims 1000 labels (1000 bytes) but the file has only 2 after the header")
    }

    func testTruncatedAndCorruptGzip() throws {
        let images = sampleImages(count: 200, height: 28, width: 28)
        let whole = path("whole.gz")
        try images.write(to: whole, gzip: true)
        let compressed = try bytes(of: whole)

        let half = try file("half.gz", Array(compressed.prefix(compressed.count / 2)))
        XCTAssertTrue(problem { _ = try IDXImages.read(path: half) }.hasPrefix("gzip file is truncated"))
        // Only the CRC-32 and length trailer missing: every pixel is there, the check is not.
        let noTrailer = try file("notrailer.gz", Array(compressed.dropLast(8)))
        XCTAssertTrue(problem { _ = try IDXImages.read(path: noTrailer) }.hasSuffix("inside the gzip trailer"))
        var flipped = compressed
        flipped[flipped.count - 6] ^= 0xff  // in the stored CRC-32
        let badCRC = try file("badcrc.gz", flipped)
        XCTAssertEqual(problem { _ = try IDXImages.read(path: badCRC) }, "corrupt gzip data: incorrect data check")
    }

    func testTrailingDataIsRefused() throws {
        let images = sampleImages()
        let raw = path("images")
        try images.write(to: raw, gzip: false)
        let longer = try file("longer", try bytes(of: raw) + [1, 2, 3])
        XCTAssertEqual(problem { _ = try IDXImages.read(path: longer) },
                       "trailing data after 5 images of 4×3 (76 bytes)")
        // A limit stops early, so the tail is not looked at.
        XCTAssertEqual(try IDXImages.read(path: longer, limit: 4).count, 4)

        let extraInside = try file("inside.gz", Gzip.compress(try bytes(of: raw) + [9]))
        XCTAssertEqual(problem { _ = try IDXImages.read(path: extraInside) },
                       "the decompressed data goes on after 5 images of 4×3 (76 bytes): trailing data, "
                       + "or a header that undercounts")
        let afterStream = try file("after.gz", Gzip.compress(try bytes(of: raw)) + [0, 0, 0, 0])
        XCTAssertEqual(problem { _ = try IDXImages.read(path: afterStream) },
                       "trailing bytes after the end of the gzip stream")
    }

    func testLabelFileGivenAsImagesAndViceVersa() throws {
        let labels = path("labels.gz"), images = path("images.gz")
        try IDXLabels(labels: [1, 2, 3]).write(to: labels, gzip: true)
        try sampleImages().write(to: images, gzip: true)
        XCTAssertEqual(problem { _ = try IDXImages.read(path: labels) },
                       "this is an IDX label file (1 dimension), expected images (3 dimensions: count×height×width)")
        XCTAssertEqual(problem { _ = try IDXLabels.read(path: images) },
                       "this is an IDX image file (3 dimensions), expected labels (1 dimension)")
    }

    // MARK: PNG

    func testGrayPNGRoundTrip() throws {
        let pixels = (0..<28 * 28).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let image = GrayImage(height: 28, width: 28, pixels: pixels)
        let png = path("digit.png")
        try image.writePNG(to: png)
        XCTAssertEqual(try bytes(of: png).prefix(4), [0x89, 0x50, 0x4e, 0x47])
        XCTAssertEqual(try GrayImage.readPNG(path: png), image)
    }

    func testRGBPNGReadsAsGray() throws {
        // Row 0: gray levels as r = g = b; row 1: pure red, green, blue, white.
        let levels: [UInt8] = [0, 64, 200, 255]
        let rgb: [UInt8] = levels.flatMap { [$0, $0, $0] } + [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        (image.width, image.height, image.format) = (4, 2, UInt32(PNG_FORMAT_RGB))
        let png = path("rgb.png")
        XCTAssertNotEqual(rgb.withUnsafeBytes { png_image_write_to_file(&image, png, 0, $0.baseAddress, 0, nil) }, 0)

        let gray = try GrayImage.readPNG(path: png)
        XCTAssertEqual([gray.height, gray.width], [2, 4])
        for (value, level) in zip(gray.pixels.prefix(4), levels) {
            XCTAssertLessThanOrEqual(abs(Int(value) - Int(level)), 1, "gray \(level) read as \(value)")
        }
        let (red, green, blue, white) = (gray.pixels[4], gray.pixels[5], gray.pixels[6], gray.pixels[7])
        XCTAssertTrue(blue < red && red < green && green < white, "\(gray.pixels.suffix(4))")
    }

    /// Valid PNGs of every colour type, bit depth and interlacing read as the gray
    /// levels they hold: 16-bit samples are display values (64·257 reads as 64, not
    /// gamma-encoded as linear light), low bit depths scale to 0…255, alpha
    /// composites onto black.
    func testEveryPNGVariantReadsAsItsGrayLevels() throws {
        let (width, height) = (13, 11)  // not a multiple of 8: partial Adam7 passes
        let levels = (0..<width * height).map { UInt8(truncatingIfNeeded: ($0 * 37) % 256) }
        func check(_ name: String, _ encoder: PNGEncoder, _ samples: [UInt16], expect: [UInt8],
                   tolerance: Int = 0, line: UInt = #line) throws {
            let gray = try GrayImage.readPNG(path: try file(name, encoder.encode(samples)))
            XCTAssertEqual([gray.height, gray.width], [height, width], name, line: line)
            let worst = zip(gray.pixels, expect).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, tolerance, "\(name): off by \(worst)", line: line)
        }
        for interlaced in [false, true] {
            let tag = interlaced ? "-adam7" : ""
            let gray8 = levels.map(UInt16.init)
            try check("gray8\(tag).png", PNGEncoder(width: width, height: height, colorType: .gray, bitDepth: 8,
                                                    interlaced: interlaced), gray8, expect: levels)
            try check("gray16\(tag).png", PNGEncoder(width: width, height: height, colorType: .gray, bitDepth: 16,
                                                     interlaced: interlaced), gray8.map { $0 * 257 }, expect: levels)
            for depth in [1, 2, 4] {
                let top = (1 << depth) - 1
                let samples = levels.map { UInt16(Int($0) * top / 255) }
                try check("gray\(depth)\(tag).png", PNGEncoder(width: width, height: height, colorType: .gray,
                                                               bitDepth: depth, interlaced: interlaced),
                          samples, expect: samples.map { UInt8(Int($0) * 255 / top) })
            }
            let rgb16: [UInt16] = gray8.flatMap { [$0 * 257, $0 * 257, $0 * 257] }
            try check("rgb16\(tag).png", PNGEncoder(width: width, height: height, colorType: .rgb, bitDepth: 16,
                                                    interlaced: interlaced), rgb16, expect: levels, tolerance: 1)
            // Opaque alpha: the gray level itself; alpha 0: black.
            let opaque: [UInt16] = gray8.flatMap { [$0, 255] }
            try check("ga8\(tag).png", PNGEncoder(width: width, height: height, colorType: .grayAlpha, bitDepth: 8,
                                                  interlaced: interlaced), opaque, expect: levels, tolerance: 1)
            let clear: [UInt16] = gray8.flatMap { [$0 * 257, $0 * 257, $0 * 257, 0] }
            try check("rgba16-clear\(tag).png", PNGEncoder(width: width, height: height, colorType: .rgba,
                                                           bitDepth: 16, interlaced: interlaced),
                      clear, expect: [UInt8](repeating: 0, count: levels.count))
            var palette = PNGEncoder(width: width, height: height, colorType: .palette, bitDepth: 8,
                                     interlaced: interlaced)
            palette.palette = (0..<256).map { (UInt8($0), UInt8($0), UInt8($0)) }
            try check("palette\(tag).png", palette, gray8, expect: levels)
        }
    }

    /// Large valid PNGs (incompressible noise, ~270 KB) decode intact every time:
    /// libpng reads the file's bytes until the decode ends, so they must outlive it.
    func testLargePNGsDecodeIntact() throws {
        var rng = SplitMix64(seed: 7)
        let side = 520
        let pixels = (0..<side * side).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let image = GrayImage(height: side, width: side, pixels: pixels)
        let png = path("noise.png")
        try image.writePNG(to: png)
        XCTAssertGreaterThan(try bytes(of: png).count, 200_000)
        for _ in 0..<20 { XCTAssertEqual(try GrayImage.readPNG(path: png), image) }
    }

    func testCorruptPNG() throws {
        let png = path("digit.png")
        try GrayImage(height: 28, width: 28, pixels: [UInt8](repeating: 9, count: 784)).writePNG(to: png)
        let good = try bytes(of: png)
        var corrupt = good
        for i in 40..<min(60, corrupt.count - 12) { corrupt[i] ^= 0x5a }  // inside IDAT
        XCTAssertTrue(problem { _ = try GrayImage.readPNG(path: try self.file("corrupt.png", corrupt)) }
            .hasPrefix("not a readable PNG: "))
        XCTAssertTrue(problem { _ = try GrayImage.readPNG(path: try self.file("cut.png", Array(good.prefix(50)))) }
            .hasPrefix("not a readable PNG: "))
        XCTAssertEqual(problem { _ = try GrayImage.readPNG(path: try self.file("text.png", Array("hello".utf8))) },
                       "not a PNG file (no PNG signature)")
    }

    func testAbsurdPNGSizeIsRefused() throws {
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            let crc = UInt32(body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
            return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
        }
        func bigEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
        // 100000 × 100000, 8-bit gray: within libpng's own limits, far beyond ours.
        let ihdr = bigEndian(100_000) + bigEndian(100_000) + [8, 0, 0, 0, 0]
        let png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] + chunk("IHDR", ihdr)
            + chunk("IDAT", [0x78, 0x9c, 0x03, 0x00]) + chunk("IEND", [])
        XCTAssertEqual(problem { _ = try GrayImage.readPNG(path: try self.file("huge.png", png)) },
                       "PNG is 100000×100000 pixels, more than this reader accepts (at most 16384 a side and "
                       + "67108864 in all)")
    }

    // MARK: Preprocessing

    private func maker(_ height: Int, _ width: Int, resize: String, scale: Float = 1) throws -> ImageBatchMaker {
        try ImageBatchMaker(input: InputSpec(shape: [1, height, width],
                                             preprocessing: Preprocessing(scale: scale, offset: 0, resize: resize)),
                            model: "test-model")
    }

    /// Golden values from a numpy version of tf.image.resize(method="bilinear"), antialias off:
    ///
    ///     import numpy as np
    ///     def resize(img, oh, ow):
    ///         ih, iw = img.shape
    ///         def taps(n_in, n_out):
    ///             s = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    ///             lo = np.maximum(np.floor(s), 0).astype(int)
    ///             hi = np.minimum(np.ceil(s), n_in - 1).astype(int)
    ///             return lo, hi, s - np.floor(s)
    ///         y0, y1, wy = taps(ih, oh)
    ///         x0, x1, wx = taps(iw, ow)
    ///         img = img.astype(np.float64)
    ///         top = img[y0][:, x0] + (img[y0][:, x1] - img[y0][:, x0]) * wx
    ///         bottom = img[y1][:, x0] + (img[y1][:, x1] - img[y1][:, x0]) * wx
    ///         return top + (bottom - top) * wy[:, None]
    ///     img = np.array([[0, 50, 100, 250], [10, 20, 30, 40], [255, 0, 128, 64]], dtype=np.uint8)
    ///     print(resize(img, 5, 2).round(6)); print(resize(img, 2, 6).round(6))
    func testBilinearResizeGoldenValues() throws {
        let image = GrayImage(height: 3, width: 4, pixels: [0, 50, 100, 250, 10, 20, 30, 40, 255, 0, 128, 64])
        let cases: [(Int, Int, [Float])] = [
            (5, 2, [25, 175, 21, 119, 15, 35, 82.5, 71.6, 127.5, 96]),
            (2, 6, [2.5, 22.5, 49.166667, 75.833333, 140, 197.5,
                    193.75, 99.375, 21.416667, 87.083333, 80.75, 58]),
        ]
        for (height, width, expected) in cases {
            let tensor = try maker(height, width, resize: "bilinear").batch(images: [image], files: ["golden.png"])
            XCTAssertEqual(tensor.shape, [1, 1, height, width])
            for (got, want) in zip(tensor.data, expected) {
                XCTAssertEqual(got, want, accuracy: 1e-4, "\(height)×\(width)")
            }
        }
    }

    func testBilinearKeepsConstantImageConstant() throws {
        let image = GrayImage(height: 28, width: 28, pixels: [UInt8](repeating: 77, count: 784))
        for (height, width) in [(32, 32), (13, 41), (28, 28)] {
            let tensor = try maker(height, width, resize: "bilinear").batch(images: [image], files: ["flat.png"])
            XCTAssertEqual(tensor.data, [Float](repeating: 77, count: height * width))
        }
    }

    func testMNISTStyleBatchIs32x32InUnitRange() throws {
        var images = sampleImages(count: 10, height: 28, width: 28)
        var pixels = images.pixels
        (pixels[0], pixels[1]) = (0, 255)
        images = IDXImages(count: 10, height: 28, width: 28, pixels: pixels)
        let mnist32 = try maker(32, 32, resize: "bilinear", scale: 1 / 255)
        let tensor = try mnist32.batch(from: images, range: 2..<9, file: "t10k")
        XCTAssertEqual(tensor.shape, [7, 1, 32, 32])
        XCTAssertTrue(tensor.data.allSatisfy { $0 >= 0 && $0 <= 1 })

        let whole = try mnist32.batch(from: images, range: 0..<10, file: "t10k")
        XCTAssertEqual(whole.data.first, 0)  // corner pixels survive the resize (edges clamp)
        XCTAssertEqual(Array(whole.data[2 * 1024..<9 * 1024]), tensor.data)

        let plain = try maker(28, 28, resize: "none", scale: 1 / 255).batch(from: images, range: 0..<1, file: "t10k")
        XCTAssertEqual(plain.data, images.pixels.prefix(784).map { Float($0) * (1 / 255) })
    }

    func testWrongImageSizeAndUnusableInputs() throws {
        let image = GrayImage(height: 30, width: 30, pixels: [UInt8](repeating: 0, count: 900))
        let none = try maker(28, 28, resize: "none")
        XCTAssertEqual(inputError { _ = try none.batch(images: [image], files: ["digit.png"]) }?.description,
                       "digit.png: image is 30×30 but model test-model takes 28×28 and does not resize")
        XCTAssertEqual(problem { _ = try none.batch(from: self.sampleImages(), range: 0..<1, file: "t10k") },
                       "images are 4×3 but model test-model takes 28×28 and does not resize")
        XCTAssertEqual(problem { _ = try ImageBatchMaker(
            input: InputSpec(shape: [3, 32, 32], preprocessing: Preprocessing()), model: "rgb") },
                       "input shape [3, 32, 32] is not one gray channel [1, height, width]")
        XCTAssertEqual(problem { _ = try self.maker(32, 32, resize: "bicubic") },
                       "unknown resize \"bicubic\" (known: none, bilinear)")
    }
}
