import HASRuntime
import HASTestSupport
import XCTest
@testable import HASPlanner

/// The certificate may only ever keep a prediction that the layers after D
/// really keep, and it must certify something, or it saves nothing.
final class TailCertificateTests: XCTestCase {
    /// ‖W‖₂ by power iteration on WᵀW in double (a lower estimate that converges to it).
    static func powerIteration(_ w: [Float], rows: Int, cols: Int) -> Double {
        var v = (0..<cols).map { Double(($0 * 7919) % 101) + 1 }
        var sigma = 0.0
        for _ in 0..<500 {
            let u = (0..<rows).map { i in (0..<cols).reduce(0.0) { $0 + Double(w[i * cols + $1]) * v[$1] } }
            var next = (0..<cols).map { j in (0..<rows).reduce(0.0) { $0 + Double(w[$1 * cols + j]) * u[$1] } }
            let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { return 0 }
            for j in next.indices { next[j] /= norm }
            sigma = norm.squareRoot()
            v = next
        }
        return sigma
    }

    func testSpectralNormBoundIsAnUpperBoundWithinTwoPercent() {
        var rng = SplitMix64(seed: 21)
        for (rows, cols) in [(40, 90), (90, 40), (1, 17), (64, 64)] {
            let w = (0..<(rows * cols)).map { _ in rng.nextSignedUnit() }
            let bound = TailCertificate.spectralNormBound(w, rows: rows, cols: cols)
            let estimate = Self.powerIteration(w, rows: rows, cols: cols)
            XCTAssertGreaterThanOrEqual(bound, estimate, "\(rows)×\(cols)")
            // (tr G^128)^(1/128) ≤ s^(1/128)·λ_max, so the norm is overstated by at most s^(1/256).
            XCTAssertLessThanOrEqual(bound, estimate * pow(Double(min(rows, cols)), 1.0 / 256) * 1.0001, "\(rows)×\(cols)")
        }
        // A matrix with a known norm: diag(3, 1, 0.5) in a 3×5 frame, and the zero matrix.
        var d = [Float](repeating: 0, count: 15)
        d[0] = 3; d[6] = -1; d[12] = 0.5
        let bound = TailCertificate.spectralNormBound(d, rows: 3, cols: 5)
        XCTAssertGreaterThanOrEqual(bound, 3)
        XCTAssertLessThan(bound, 3.0001)
        XCTAssertEqual(TailCertificate.spectralNormBound([Float](repeating: 0, count: 6), rows: 2, cols: 3), 0)
    }

    /// [1, 4, 6] → flatten → h1 (→ 16) → ReLU → dropout → op (→ 5) → softmax: random inputs, then
    /// moves of every size in random directions. Whatever the certificate keeps, the
    /// network keeps; and it keeps some.
    func testCertifiedMovesNeverChangeThePrediction() throws {
        var rng = SplitMix64(seed: 5)
        let tensors = ["h1.weight": TestNetworks.tensor([16, 24], &rng, integers: false, scale: 0.5),
                       "h1.bias": TestNetworks.tensor([16], &rng, integers: false, scale: 0.5),
                       "op.weight": TestNetworks.tensor([5, 16], &rng, integers: false),
                       "op.bias": TestNetworks.tensor([5], &rng, integers: false)]
        let network = try TestNetworks.network(input: [1, 4, 6], layers: [LayerSpec(type: "flatten"),
                                                                          TestNetworks.dense("h1"), LayerSpec(type: "relu"),
                                                                     LayerSpec(type: "dropout"), TestNetworks.dense("op"),
                                                                     LayerSpec(type: "softmax")],
                                               tensors: tensors, classes: 5)
        let n = 400, width = 24
        let inputs = (0..<(n * width)).map { _ in max(0, rng.nextSignedUnit() * 2) }
        let predictions = network.predict(Tensor(shape: [n, 1, 4, 6], data: inputs), options: ForwardOptions(threads: 1))
        let certificate = try XCTUnwrap(TailCertificate(network: network, tailStart: 1, tailInputs: inputs, width: width,
                                                        predictions: predictions))
        var moved: [Float] = [], radii: [Double] = [], owners: [Int] = []
        for i in 0..<n {
            for scale in [0.01, 0.1, 0.3, 0.6, 0.9, 0.99, 2, 10] {
                let r = certificate.radius[i] * scale
                guard r > 0, r.isFinite else { continue }
                let direction = (0..<width).map { _ in Double(rng.nextSignedUnit()) }
                let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
                moved += (0..<width).map { inputs[i * width + $0] + Float(direction[$0] / norm * r) }
                radii.append(scale)
                owners.append(i)
            }
        }
        let after = network.predict(Tensor(shape: [owners.count, 1, 4, 6], data: moved), options: ForwardOptions(threads: 1))
        var kept = 0, changedOutside = 0
        for (k, i) in owners.enumerated() {
            if radii[k] < 1 {
                XCTAssertEqual(after[k], predictions[i], "image \(i) moved by \(radii[k]) of its radius")
                kept += 1
            } else if after[k] != predictions[i] {
                changedOutside += 1
            }
        }
        XCTAssertGreaterThan(kept, n * 3, "most images should have a radius")
        XCTAssertGreaterThan(changedOutside, 0, "moves ten times the radius should change some predictions")
    }

    func testTailsThatAreNotADenseChainGetNoCertificate() throws {
        let network = try TestNetworks.convNet()  // c0 → ReLU → flatten → op
        let predictions = [Int](repeating: 0, count: 1)
        XCTAssertNil(TailCertificate(network: network, tailStart: 0, tailInputs: [Float](repeating: 0, count: 243),
                                     width: 243, predictions: predictions))
        XCTAssertNotNil(TailCertificate(network: network, tailStart: 2, tailInputs: [Float](repeating: 0, count: 405),
                                        width: 405, predictions: predictions))
    }
}
