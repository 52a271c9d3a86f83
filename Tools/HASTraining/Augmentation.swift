import Foundation
import HASRuntime

/// Random affine distortions of 8-bit gray images (MNIST-style augmentation):
/// a rotation and scaling about the image centre, then a shift, resampled
/// bilinearly with black outside the image and rounded back to 8 bits, so the
/// result goes through the model's own preprocessing like any real image.
///
/// Each image's distortion is drawn from a stream keyed by (seed, epoch,
/// image index): the same seed gives the same images whatever the batch
/// order or thread count.
public struct Augmentation: Equatable, Sendable {
    /// Largest shift in pixels, each axis uniform in ±maxShift.
    public var maxShift: Float
    /// Largest rotation, uniform in ±degrees.
    public var maxRotationDegrees: Float
    /// Scale uniform in 1 ± maxScaleChange.
    public var maxScaleChange: Float

    public init(maxShift: Float, maxRotationDegrees: Float, maxScaleChange: Float) {
        self.maxShift = maxShift
        self.maxRotationDegrees = maxRotationDegrees
        self.maxScaleChange = maxScaleChange
    }

    /// What the mnist32-cnn bundle was trained with.
    public static let mnist = Augmentation(maxShift: 2, maxRotationDegrees: 10, maxScaleChange: 0.1)

    /// "shift ±2 px, rotation ±10°, scale ±10%, bilinear".
    public var description: String {
        "shift ±\(format(maxShift)) px, rotation ±\(format(maxRotationDegrees))°, scale ±\(format(maxScaleChange * 100))%, bilinear"
    }

    private func format(_ x: Float) -> String {
        x == x.rounded() ? String(Int(x)) : String(x)
    }

    /// The distortion stream of one image in one epoch.
    public static func generator(seed: UInt64, epoch: Int, image: Int) -> SplitMix64 {
        SplitMix64(seed: SplitMix64.mix(SplitMix64.mix(seed ^ 0xA_0A0A_0A0A) ^ SplitMix64.mix(UInt64(epoch) << 32 ^ UInt64(image))))
    }

    /// Distorts one h×w image `source` into `destination`.
    public func apply(_ source: UnsafePointer<UInt8>, height h: Int, width w: Int,
                      into destination: UnsafeMutablePointer<UInt8>, random rng: inout SplitMix64) {
        let angle = rng.nextSignedUnit() * maxRotationDegrees * .pi / 180
        let scale = 1 + rng.nextSignedUnit() * maxScaleChange
        let dx = rng.nextSignedUnit() * maxShift, dy = rng.nextSignedUnit() * maxShift
        let cx = Float(w - 1) / 2, cy = Float(h - 1) / 2
        // Inverse map: source = R(−θ)·(target − centre − shift)/scale + centre.
        let cosA = Foundation.cos(angle) / scale, sinA = Foundation.sin(angle) / scale
        for y in 0..<h {
            for x in 0..<w {
                let u = Float(x) - cx - dx, v = Float(y) - cy - dy
                let sx = cosA * u + sinA * v + cx
                let sy = -sinA * u + cosA * v + cy
                let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                let fx = sx - Float(x0), fy = sy - Float(y0)
                func pixel(_ yy: Int, _ xx: Int) -> Float {
                    (yy >= 0 && yy < h && xx >= 0 && xx < w) ? Float(source[yy * w + xx]) : 0
                }
                let top = pixel(y0, x0) * (1 - fx) + pixel(y0, x0 + 1) * fx
                let bottom = pixel(y0 + 1, x0) * (1 - fx) + pixel(y0 + 1, x0 + 1) * fx
                let value = top * (1 - fy) + bottom * fy
                destination[y * w + x] = UInt8(max(0, min(255, value.rounded())))
            }
        }
    }
}
