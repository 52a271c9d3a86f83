import Foundation
import HASRuntime

/// Writes one prediction per image as CSV or JSON Lines, atomically.
enum PredictionWriter {
    static func write(_ result: Classification, classes: [String], labels: [Int]?, names: [String]?,
                      to path: String) throws {
        let jsonl = path.hasSuffix(".jsonl")
        var text = jsonl ? "" : "index,name,prediction,class,confidence" + (labels == nil ? "" : ",label") + "\n"
        for (i, p) in result.predictions.enumerated() {
            let name = names?[i] ?? ""
            let className = p < 0 ? "" : classes[p]
            let confidence = result.confidences[i].isNaN ? "null" : String(format: "%.6f", result.confidences[i])
            if jsonl {
                var fields = [#""index":\#(i)"#, #""prediction":\#(p)"#, #""class":\#(jsonString(className))"#,
                              #""confidence":\#(confidence)"#]
                if !name.isEmpty { fields.insert(#""name":\#(jsonString(name))"#, at: 1) }
                if let labels { fields.append(#""label":\#(labels[i])"#) }
                text += "{" + fields.joined(separator: ",") + "}\n"
            } else {
                let row = [String(i), name, String(p), className,
                           confidence == "null" ? "" : confidence] + (labels.map { [String($0[i])] } ?? [])
                text += CSV.row(row) + "\n"
            }
        }
        try writeFileAtomically(text, to: path)
    }

    static func jsonString(_ s: String) -> String {
        let data = try! JSONEncoder().encode(s)
        return String(decoding: data, as: UTF8.self)
    }
}
