import Foundation
import HASRuntime

/// Degradation vs FR_max, one panel per error kind, one line per layer group,
/// error bars = ±1 std over devices × trials. Plain SVG, no dependencies.
struct SensitivityPlot {
    var model: String
    var summaries: [SensitivityAnalysis.Summary]
    var kinds: [ErrorKind]

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    func svg() -> String {
        let panelWidth = 300.0, panelHeight = 240.0, margin = (left: 56.0, right: 16.0, top: 40.0, bottom: 48.0)
        let columns = min(3, max(1, kinds.count)), rows = (kinds.count + columns - 1) / columns
        let legendHeight = 28.0
        let width = Double(columns) * (panelWidth + margin.left + margin.right)
        let height = 36 + legendHeight + Double(rows) * (panelHeight + margin.top + margin.bottom)
        var layers: [String] = []
        for s in summaries where !layers.contains(s.layers) { layers.append(s.layers) }
        func color(_ layer: String) -> String { Self.palette[(layers.firstIndex(of: layer) ?? 0) % Self.palette.count] }
        func f(_ x: Double) -> String { String(format: "%.1f", x) }
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }

        var out = [##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(f(width))" height="\##(f(height))" font-family="sans-serif" font-size="12">"##,
                   ##"<rect width="100%" height="100%" fill="white"/>"##,
                   ##"<text x="\##(f(width / 2))" y="22" text-anchor="middle" font-size="16">\##(escape(model)): accuracy lost to faults vs FR_max (mean ± std over devices × trials)</text>"##]
        // Legend.
        var x = 20.0
        for layer in layers {
            out.append(##"<rect x="\##(f(x))" y="38" width="14" height="14" fill="\##(color(layer))"/><text x="\##(f(x + 20))" y="50">\##(escape(layer))</text>"##)
            x += 30 + Double(layer.count) * 8
        }
        for (index, kind) in kinds.enumerated() {
            let ox = Double(index % columns) * (panelWidth + margin.left + margin.right) + margin.left
            let oy = 36 + legendHeight + Double(index / columns) * (panelHeight + margin.top + margin.bottom) + margin.top
            let cells = summaries.filter { $0.kind == kind }
            let rates = Array(Set(cells.map(\.frMax))).sorted()
            let top = max(5, cells.map { $0.degradation + $0.degradationStd }.max() ?? 5)
            let bottom = min(0, cells.map { $0.degradation - $0.degradationStd }.min() ?? 0)
            let yMax = niceCeiling(top)
            func px(_ i: Int) -> Double { rates.count <= 1 ? panelWidth / 2 : 20 + Double(i) * (panelWidth - 40) / Double(rates.count - 1) }
            func py(_ v: Double) -> Double { panelHeight - (v - bottom) / (yMax - bottom) * panelHeight }
            out.append(##"<g transform="translate(\##(f(ox)),\##(f(oy)))">"##)
            out.append(##"<text x="\##(f(panelWidth / 2))" y="-12" text-anchor="middle" font-size="14">\##(kind.rawValue)</text>"##)
            out.append(##"<rect width="\##(f(panelWidth))" height="\##(f(panelHeight))" fill="none" stroke="#444"/>"##)
            for tick in 0...4 {
                let v = bottom + (yMax - bottom) * Double(tick) / 4
                out.append(##"<line x1="0" x2="\##(f(panelWidth))" y1="\##(f(py(v)))" y2="\##(f(py(v)))" stroke="#ddd"/>"##)
                out.append(##"<text x="-6" y="\##(f(py(v) + 4))" text-anchor="end">\##(String(format: "%.3g", v))</text>"##)
            }
            for (i, rate) in rates.enumerated() {
                out.append(##"<text x="\##(f(px(i)))" y="\##(f(panelHeight + 16))" text-anchor="middle">\##(String(format: "%g", rate))</text>"##)
            }
            out.append(##"<text x="\##(f(panelWidth / 2))" y="\##(f(panelHeight + 36))" text-anchor="middle">FR_max</text>"##)
            out.append(##"<text transform="translate(-42,\##(f(panelHeight / 2))) rotate(-90)" text-anchor="middle">degradation (points)</text>"##)
            for layer in layers {
                let points = rates.enumerated().compactMap { i, rate in
                    cells.first { $0.layers == layer && $0.frMax == rate }.map { (i, $0) }
                }
                guard !points.isEmpty else { continue }
                let path = points.map { "\(f(px($0.0))),\(f(py($0.1.degradation)))" }.joined(separator: " ")
                out.append(##"<polyline points="\##(path)" fill="none" stroke="\##(color(layer))" stroke-width="2"/>"##)
                for (i, s) in points {
                    let cx = px(i), lo = py(s.degradation - s.degradationStd), hi = py(s.degradation + s.degradationStd)
                    out.append(##"<line x1="\##(f(cx))" x2="\##(f(cx))" y1="\##(f(lo))" y2="\##(f(hi))" stroke="\##(color(layer))"/>"##)
                    out.append(##"<circle cx="\##(f(cx))" cy="\##(f(py(s.degradation)))" r="3.5" fill="\##(color(layer))"><title>\##(escape(layer)) \##(kind.rawValue) \##(String(format: "%g", s.frMax)): \##(String(format: "%.2f ± %.2f", s.degradation, s.degradationStd)) points</title></circle>"##)
                }
            }
            out.append("</g>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// 1, 2 or 5 × 10^k at or above `x`.
    func niceCeiling(_ x: Double) -> Double {
        let p = pow(10, floor(log10(x)))
        for m in [1.0, 2, 5, 10] where m * p >= x { return m * p }
        return 10 * p
    }
}
