import Foundation

/// A minimal SVG line chart (no dependencies): one polyline per series, axes
/// with a few ticks, a legend. Enough to look at convergence curves.
public enum LinePlot {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    public static func svg(title: String, xLabel: String, yLabel: String, series: [Series],
                           width: Double = 720, height: Double = 440) -> String {
        let left = 70.0, right = 170.0, top = 40.0, bottom = 55.0
        let all = series.flatMap(\.points)
        var x0 = all.map(\.x).min() ?? 0, x1 = all.map(\.x).max() ?? 1
        var y0 = all.map(\.y).min() ?? 0, y1 = all.map(\.y).max() ?? 1
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 { y0 -= 0.01; y1 += 0.01 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        if x0 > 0 && x0 < x1 * 0.2 { x0 = 0 }
        let pw = width - left - right, ph = height - top - bottom
        func sx(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func sy(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * ph }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left + pw / 2)" y="22" text-anchor="middle" font-size="14">\(esc(title))</text>
        <rect x="\(left)" y="\(top)" width="\(pw)" height="\(ph)" fill="none" stroke="#444"/>

        """
        for i in 0...4 {
            let fx = x0 + (x1 - x0) * Double(i) / 4, fy = y0 + (y1 - y0) * Double(i) / 4
            s += "<line x1=\"\(sx(fx))\" y1=\"\(top + ph)\" x2=\"\(sx(fx))\" y2=\"\(top + ph + 5)\" stroke=\"#444\"/>"
            s += "<text x=\"\(sx(fx))\" y=\"\(top + ph + 18)\" text-anchor=\"middle\">\(format(fx))</text>\n"
            s += "<line x1=\"\(left - 5)\" y1=\"\(sy(fy))\" x2=\"\(left + pw)\" y2=\"\(sy(fy))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(left - 8)\" y=\"\(sy(fy) + 4)\" text-anchor=\"end\">\(format(fy))</text>\n"
        }
        s += "<text x=\"\(left + pw / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(top + ph / 2)) rotate(-90)\" text-anchor=\"middle\">\(esc(yLabel))</text>\n"
        for (i, series) in series.enumerated() {
            let color = colors[i % colors.count]
            let pts = series.points.map { "\(sx($0.x)),\(sy($0.y))" }.joined(separator: " ")
            if series.points.count == 1, let p = series.points.first {
                s += "<circle cx=\"\(sx(p.x))\" cy=\"\(sy(p.y))\" r=\"5\" fill=\"\(color)\"/>\n"
            } else {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts)\"/>\n"
            }
            let ly = top + 14 + Double(i) * 20
            s += "<line x1=\"\(left + pw + 12)\" y1=\"\(ly - 4)\" x2=\"\(left + pw + 32)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"3\"/>"
            s += "<text x=\"\(left + pw + 38)\" y=\"\(ly)\">\(esc(series.name))</text>\n"
        }
        return s + "</svg>\n"
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        return abs(v) < 10 ? String(format: "%.4g", v) : String(format: "%.0f", v)
    }
}
