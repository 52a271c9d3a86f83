import CPNG
import Foundation
import HASPNG

/// An 8-bit gray image, row-major, e.g. a digit read from a PNG file.
public struct GrayImage: Equatable, Sendable {
    public let height, width: Int
    /// height × width, row-major.
    public let pixels: [UInt8]

    /// Widest or tallest PNG we decode.
    public static let maxSide = 16384
    /// Most pixels in a PNG we decode (64 Mi): far beyond any model input,
    /// refused before anything is allocated for them.
    public static let maxPixels = 1 << 26
    /// Largest PNG file we read into memory.
    static let maxFileBytes = 1 << 28

    public init(height: Int, width: Int, pixels: [UInt8]) {
        precondition(height > 0 && width > 0, "empty image \(height)×\(width)")
        precondition(pixels.count == height * width, "\(pixels.count) pixels for \(height)×\(width)")
        (self.height, self.width, self.pixels) = (height, width, pixels)
    }

    /// Decodes a PNG file to 8-bit gray.
    ///
    /// Every valid PNG flavour (gray, RGB, palette, 1–16 bits, tRNS or alpha,
    /// interlaced) becomes 8-bit gray as `has_png_decode_gray` says: stored
    /// samples are display values, colour is weighted as Rec. 709, transparent
    /// pixels are composited onto black, the background of MNIST-style digits.
    public static func readPNG(path: String) throws -> GrayImage {
        let bytes = try InputFile(path: path).readAll(maxBytes: maxFileBytes, what: "PNG file")
        // Checked here because libpng's message for a short non-PNG is "read beyond end of data".
        guard bytes.starts(with: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) else {
            throw InputError(file: path, "not a PNG file (no PNG signature)")
        }
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int64 = 0, height: Int64 = 0
        var message = [CChar](repeating: 0, count: 256)
        let decoded = bytes.withUnsafeBufferPointer {
            has_png_decode_gray($0.baseAddress, $0.count, Int64(maxSide), Int64(maxPixels),
                                &pixels, &width, &height, &message, message.count)
        }
        defer { free(pixels) }
        if decoded == 2 {
            throw InputError(file: path, "PNG is \(width)×\(height) pixels, more than this reader accepts "
                + "(at most \(maxSide) a side and \(maxPixels) in all)")
        }
        guard decoded == 1, let pixels else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw InputError(file: path, "not a readable PNG: \(reason.isEmpty ? "libpng failed" : reason)")
        }
        let count = Int(width * height)
        return GrayImage(height: Int(height), width: Int(width),
                         pixels: [UInt8](UnsafeBufferPointer(start: pixels, count: count)))
    }

    /// Writes the image as an 8-bit gray PNG.
    public func writePNG(to path: String) throws {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_GRAY)
        let written = pixels.withUnsafeBytes { png_image_write_to_file(&image, path, 0, $0.baseAddress, 0, nil) }
        if written == 0 { throw Self.pngError(&image, path: path, doing: "cannot write PNG") }
    }

    /// libpng's message for the failure just reported on `image`.
    private static func pngError(_ image: UnsafeMutablePointer<png_image>, path: String,
                                 doing: String = "not a readable PNG") -> InputError {
        let message = withUnsafeBytes(of: image.pointee.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return InputError(file: path, "\(doing): \(message.isEmpty ? "libpng failed" : message)")
    }
}
