import Foundation
import HASRuntime

/// When a change to a dense layer D's outputs provably cannot change an
/// image's prediction, so that the fast evaluators may skip the layers after D.
///
/// The layers after D (ReLUs, dropouts, flattens and dense layers, then at
/// most a softmax) are a Lipschitz map from D's outputs to the logits: a ReLU
/// moves no coordinate further than its input moved, and a dense layer W moves
/// its output by at most ‖W‖₂ times its input's move. So when D's outputs move
/// by Δ (after D's ReLU, if it has one), the logit margin of class c over class
/// k moves by at most
///
///     L_ck · ‖Δ‖₂,   L_ck = ‖w_c − w_k‖₂ · Π ‖W‖₂,
///
/// with w the rows of the last dense layer and the product over the dense
/// layers before it. An image whose clean margin over every other class k
/// exceeds L_ck·‖Δ‖₂ keeps its clean prediction. Each margin is first shrunk by
/// `roundingAllowance`, far more than the float rounding of the layers after D
/// (≈ 1e-6 relative), so the prediction the float computation would make is
/// the clean one too.
///
/// ‖W‖₂ is bounded from above, never estimated: λ_max(WWᵀ) ≤ (tr (WWᵀ)^q)^{1/q}
/// for q = 128, computed by repeated squaring in double (at most 4.4% above
/// λ_max for a 256-row matrix, so ‖W‖₂ is overstated by at most 2.2%).
struct TailCertificate: Sendable {
    /// Per image: the largest ‖Δ‖₂ that provably keeps its clean prediction (0: none does).
    let radius: [Double]

    /// Margins are shrunk by this fraction of (1 + |ℓ_c| + |ℓ_k|) before they certify anything.
    static let roundingAllowance = 1e-3

    /// The certificate for the layers `tailStart...` of `network` after D, or nil
    /// when they are not a chain of dense layers, ReLUs, dropouts and flattens
    /// ending in a dense layer (and perhaps a softmax).
    /// - Parameters:
    ///   - tailInputs: the clean inputs of the layers after D, [N × width] (D's outputs after its ReLU).
    ///   - predictions: the clean predictions (an image whose logits do not give the same is never certified).
    init?(network: Network, tailStart: Int, tailInputs: [Float], width: Int, predictions: [Int]) {
        let layers = network.layers
        var end = layers.count
        if end > tailStart, case .softmax = layers[end - 1] { end -= 1 }
        var denses: [Dense] = []
        for index in tailStart..<end {
            switch layers[index] {
            case .dense(let d): denses.append(d)
            case .relu, .dropout, .flatten: continue
            default: return nil
            }
        }
        guard let last = denses.last, end > tailStart, case .dense = layers[end - 1] else { return nil }
        // Lipschitz factor of everything before the last dense layer.
        let before = denses.dropLast().reduce(1.0) { $0 * TailCertificate.spectralNormBound($1.weight, rows: $1.outFeatures, cols: $1.inFeatures) }
        let classes = last.outFeatures, f = last.inFeatures
        var pair = [Double](repeating: 0, count: classes * classes)  // L_ck
        for c in 0..<classes {
            for k in 0..<classes where k != c {
                var s = 0.0
                for j in 0..<f {
                    let d = Double(last.weight[c * f + j]) - Double(last.weight[k * f + j])
                    s += d * d
                }
                pair[c * classes + k] = s.squareRoot() * before * (1 + 1e-6)
            }
        }
        let n = tailInputs.count / max(1, width)
        let logits = network.run(Tensor(shape: [n, width], data: tailInputs), layers: tailStart..<end,
                                 options: ForwardOptions(threads: 1)).data
        radius = (0..<n).map { i in
            let row = logits[(i * classes)..<((i + 1) * classes)].map(Double.init)
            let c = predictions[i]
            guard c >= 0, c < classes, row.allSatisfy(\.isFinite) else { return 0 }
            var r = Double.infinity
            for k in 0..<classes where k != c {
                let margin = row[c] - row[k] - TailCertificate.roundingAllowance * (1 + abs(row[c]) + abs(row[k]))
                guard margin > 0 else { return 0 }
                r = min(r, pair[c * classes + k] > 0 ? margin / pair[c * classes + k] : .infinity)
            }
            return r
        }
    }

    /// An upper bound on the spectral norm of W [rows × cols]: λ_max(G) ≤ (tr G^q)^{1/q}
    /// for the Gram matrix G (the smaller of WWᵀ and WᵀW) and q = 2⁷, by repeated
    /// squaring with each power scaled to trace 1 (the scales kept as logarithms).
    static func spectralNormBound(_ w: [Float], rows: Int, cols: Int) -> Double {
        let s = min(rows, cols)
        guard s > 0 else { return 0 }
        // g[i][j] = Σ_k v_i[k]·v_j[k] over the s vectors (rows of W, or its columns).
        var g = [Double](repeating: 0, count: s * s)
        let vectors: [[Double]] = rows <= cols
            ? (0..<rows).map { i in (0..<cols).map { Double(w[i * cols + $0]) } }
            : (0..<cols).map { j in (0..<rows).map { Double(w[$0 * cols + j]) } }
        for i in 0..<s {
            for j in i..<s {
                var acc = 0.0
                for (a, b) in zip(vectors[i], vectors[j]) { acc += a * b }
                g[i * s + j] = acc
                g[j * s + i] = acc
            }
        }
        var logScale = 0.0
        func normalise(_ m: inout [Double]) -> Bool {
            let t = (0..<s).reduce(0.0) { $0 + m[$1 * s + $1] }
            guard t > 0, t.isFinite else { return false }
            for i in m.indices { m[i] /= t }
            logScale += log(t)
            return true
        }
        guard normalise(&g) else { return 0 }
        let squarings = 7
        var square = [Double](repeating: 0, count: s * s)
        for _ in 0..<squarings {
            for i in 0..<s {
                for j in 0..<s { square[i * s + j] = 0 }
                for k in 0..<s {
                    let a = g[i * s + k]
                    if a == 0 { continue }
                    for j in 0..<s { square[i * s + j] += a * g[k * s + j] }
                }
            }
            logScale *= 2
            swap(&g, &square)
            guard normalise(&g) else { return 0 }
        }
        // tr G^q = exp(logScale) (the last power has trace 1); λ_max ≤ its q-th root.
        let lambda = exp(logScale / Double(1 << squarings))
        return lambda.squareRoot() * (1 + 1e-6)
    }
}
