import CZlib

/// A minimal PNG writer for tests: every colour type, bit depth and Adam7
/// interlacing that the PNG spec allows, with no gAMA/sRGB chunk (as most
/// tools write them), so that the reader meets the variants users hand it.
/// Written from the PNG specification, independently of libpng's writer.
struct PNGEncoder {
    /// PNG colour types.
    enum ColorType: UInt8 {
        case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6

        var samplesPerPixel: Int {
            switch self {
            case .gray, .palette: return 1
            case .grayAlpha: return 2
            case .rgb: return 3
            case .rgba: return 4
            }
        }
    }

    var width: Int
    var height: Int
    var colorType: ColorType
    var bitDepth: Int
    var interlaced = false
    /// RGB entries for a palette image.
    var palette: [(UInt8, UInt8, UInt8)] = []

    /// The file for `samples` (height × width × samplesPerPixel, each < 2^bitDepth).
    func encode(_ samples: [UInt16]) -> [UInt8] {
        precondition(samples.count == width * height * colorType.samplesPerPixel)
        var ihdr = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        ihdr += [UInt8(bitDepth), colorType.rawValue, 0, 0, interlaced ? 1 : 0]
        var file: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] + chunk("IHDR", ihdr)
        if colorType == .palette { file += chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }) }
        var raw: [UInt8] = []
        // Adam7 passes as (x0, y0, dx, dy); a plain image is one pass.
        let passes = interlaced
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        for (x0, y0, dx, dy) in passes {
            let columns = Array(stride(from: x0, to: width, by: dx))
            if columns.isEmpty { continue }
            for y in stride(from: y0, to: height, by: dy) {
                raw.append(0)  // filter: none
                raw += packRow(columns.flatMap { x in
                    (0..<colorType.samplesPerPixel).map { samples[(y * width + x) * colorType.samplesPerPixel + $0] }
                })
            }
        }
        file += chunk("IDAT", deflate(raw))
        return file + chunk("IEND", [])
    }

    private func packRow(_ row: [UInt16]) -> [UInt8] {
        switch bitDepth {
        case 16: return row.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        case 8: return row.map { UInt8($0) }
        default:
            var bytes = [UInt8](repeating: 0, count: (row.count * bitDepth + 7) / 8)
            for (i, sample) in row.enumerated() {
                let bit = i * bitDepth
                bytes[bit / 8] |= UInt8(sample) << UInt8(8 - bitDepth - bit % 8)
            }
            return bytes
        }
    }

    private func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var length = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let status = compress(&out, &length, bytes, uLong(bytes.count))
        precondition(status == Z_OK)
        return Array(out.prefix(Int(length)))
    }

    private func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = UInt32(body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
    }

    private func bigEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
}
