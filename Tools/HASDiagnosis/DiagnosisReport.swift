import Foundation
import HASRuntime

/// The `--report DIR` files: a heat map of the rates over blocks × threads
/// (SVG), every PE's estimate (CSV), the 10 worst PEs, and, when the true
/// rates are known, estimate against truth per PE and in summary.
public enum DiagnosisReport {
    public static func write(_ result: DiagnosisResult, truth: [[Double]]?, to directory: String) throws {
        try makeDirectory(directory)
        let threads = result.state.threads
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        func trueRate(_ pe: Int) -> Double? { truth.map { $0[pe / threads][pe % threads] } }

        var csv = "block,thread,rate,lower,upper,samples,errors,resolved" + (truth != nil ? ",true_rate,inside" : "") + "\n"
        for (pe, e) in result.estimates.enumerated() {
            csv += "\(pe / threads),\(pe % threads),\(e.rate),\(e.lower),\(e.upper),\(e.samples),\(e.errors),\(e.resolved)"
            if let p = trueRate(pe) { csv += ",\(p),\(e.lower <= p && p <= e.upper)" }
            csv += "\n"
        }
        try writeFileAtomically(csv, to: path("estimates.csv"))

        let worst = result.estimates.indices.sorted { result.estimates[$0].rate > result.estimates[$1].rate }.prefix(10)
        var text = "rank,block,thread,rate,lower,upper" + (truth != nil ? ",true_rate" : "") + "\n"
        for (rank, pe) in worst.enumerated() {
            let e = result.estimates[pe]
            text += "\(rank + 1),\(pe / threads),\(pe % threads),\(e.rate),\(e.lower),\(e.upper)"
            if let p = trueRate(pe) { text += ",\(p)" }
            text += "\n"
        }
        try writeFileAtomically(text, to: path("worst-pes.csv"))
        try writeFileAtomically(heatMap(result), to: path("rates.svg"))
        if let truth {
            let accuracy = DiagnosisAccuracy(result, truth: truth, rateFloor: result.settings.rateFloor)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeFileAtomically(Array(try encoder.encode(accuracy)) + [10], to: path("accuracy.json"))
        }
    }

    /// Rates as cells (block = row, thread = column), white at 0 to dark red at
    /// the largest rate; unresolved PEs outlined in blue.
    static func heatMap(_ result: DiagnosisResult) -> String {
        let blocks = result.state.blocks, threads = result.state.threads
        let cell = max(4, min(24, 768 / max(threads, blocks))), left = 60, top = 40
        let width = left + threads * cell + 140, height = top + blocks * cell + 40
        let top1 = result.estimates.map(\.rate).max() ?? 0
        var svg = #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(width)" height="\#(height)" font-family="sans-serif" font-size="11">"#
        svg += "\n<text x=\"\(left)\" y=\"20\" font-size=\"14\">Diagnosed fault rate per PE (\(blocks) blocks × \(threads) threads): "
            + "\(result.identification.kind?.rawValue ?? "no faults seen")</text>\n"
        for (pe, e) in result.estimates.enumerated() {
            let s = pe / threads, t = pe % threads
            let shade = top1 > 0 ? e.rate / top1 : 0
            let g = Int(255 * (1 - shade)), r = Int(255 - 100 * shade)
            svg += "<rect x=\"\(left + t * cell)\" y=\"\(top + s * cell)\" width=\"\(cell)\" height=\"\(cell)\" "
                + "fill=\"rgb(\(r),\(g),\(g))\"" + (e.resolved ? "" : " stroke=\"blue\" stroke-width=\"1.5\"")
                + "><title>block \(s) thread \(t): \(String(format: "%.3g", e.rate)) "
                + "[\(String(format: "%.3g", e.lower)), \(String(format: "%.3g", e.upper))]</title></rect>\n"
        }
        for s in stride(from: 0, to: blocks, by: max(1, blocks / 10)) {
            svg += "<text x=\"\(left - 6)\" y=\"\(top + s * cell + cell - 2)\" text-anchor=\"end\">\(s)</text>\n"
        }
        for t in stride(from: 0, to: threads, by: max(1, threads / 8)) {
            svg += "<text x=\"\(left + t * cell)\" y=\"\(top + blocks * cell + 14)\">\(t)</text>\n"
        }
        svg += "<text x=\"\(left)\" y=\"\(top + blocks * cell + 30)\">thread →   (block ↓)</text>\n"
        let legendX = left + threads * cell + 20
        for i in 0...10 {
            let shade = Double(10 - i) / 10
            let g = Int(255 * (1 - shade)), r = Int(255 - 100 * shade)
            svg += "<rect x=\"\(legendX)\" y=\"\(top + i * 12)\" width=\"16\" height=\"12\" fill=\"rgb(\(r),\(g),\(g))\"/>\n"
        }
        svg += "<text x=\"\(legendX + 20)\" y=\"\(top + 10)\">\(String(format: "%.3g", top1))</text>\n"
        svg += "<text x=\"\(legendX + 20)\" y=\"\(top + 130)\">0</text>\n"
        svg += "<text x=\"\(legendX)\" y=\"\(top + 150)\">blue: unresolved</text>\n"
        return svg + "</svg>\n"
    }
}
