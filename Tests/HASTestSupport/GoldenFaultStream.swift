import Foundation

/// The golden vectors of the fault stream (Tests/Fixtures/fault-stream-golden.json,
/// written by Tools/golden/fault_stream.py from docs/fault-profile.md's text).
public struct GoldenFaultStream {
    public struct SplitMix { public var seed: UInt64; public var outputs: [UInt64] }
    public struct LayerKey { public var name: String; public var key: UInt64 }
    public struct Stream {
        public var seed: UInt64, layer: String, image: Int, block: Int, thread: Int, rate: Double
        public var geometry: SpecGeometry
        public var mode: String
        public var failures: [SpecFaultStream.Failure]
    }
    public struct Corruption {
        public var kind: String, exponentBits: String, bits: UInt32, draw: UInt64, corrupted: UInt32
    }

    public var splitMix: [SplitMix] = []
    public var layerKeys: [LayerKey] = []
    public var streams: [Stream] = []
    public var corruptions: [Corruption] = []

    /// The checked-in fixture, found next to this file's directory (no bundled resources).
    public static func load() throws -> GoldenFaultStream {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fault-stream-golden.json")
        return try GoldenFaultStream(json: Data(contentsOf: url))
    }

    struct FormatError: Error, CustomStringConvertible { var description: String }

    init(json: Data) throws {
        guard let root = try JSONSerialization.jsonObject(with: json) as? [String: Any],
              root["format"] as? String == "has-fault-stream-golden" else { throw FormatError(description: "not a golden file") }
        func hex(_ value: Any?) throws -> UInt64 {
            guard let text = value as? String, text.hasPrefix("0x"), let v = UInt64(text.dropFirst(2), radix: 16) else {
                throw FormatError(description: "bad hex value \(String(describing: value))")
            }
            return v
        }
        func int(_ value: Any?) throws -> Int {
            guard let v = value as? Int else { throw FormatError(description: "bad integer \(String(describing: value))") }
            return v
        }
        func objects(_ key: String) -> [[String: Any]] { root[key] as? [[String: Any]] ?? [] }
        for o in objects("splitmix") {
            splitMix.append(SplitMix(seed: try hex(o["seed"]), outputs: try (o["outputs"] as? [Any] ?? []).map(hex)))
        }
        for o in objects("layer_keys") { layerKeys.append(LayerKey(name: o["name"] as? String ?? "", key: try hex(o["key"]))) }
        for o in objects("streams") {
            let map = o["map"] as? [String: Any] ?? [:]
            let geometry = SpecGeometry(rows: try int(map["rows"]), depth: try int(map["depth"]), columns: try int(map["columns"]),
                                        tileK: try int(map["tile_k"]), blocks: try int(map["blocks"]), threads: try int(map["threads"]))
            let failures = try (o["failures"] as? [[Any]] ?? []).map { pair in
                SpecFaultStream.Failure(slot: try int(pair.first), draw: try hex(pair.last))
            }
            streams.append(Stream(seed: try hex(o["seed"]), layer: o["layer"] as? String ?? "", image: try int(o["image"]),
                                  block: try int(o["block"]), thread: try int(o["thread"]),
                                  rate: (o["rate"] as? NSNumber)?.doubleValue ?? .nan, geometry: geometry,
                                  mode: o["mode"] as? String ?? "", failures: failures))
        }
        for o in objects("corruptions") {
            corruptions.append(Corruption(kind: o["kind"] as? String ?? "", exponentBits: o["exponent_bits"] as? String ?? "",
                                          bits: UInt32(try hex(o["bits"])),
                                          draw: try hex(o["draw"]),
                                          corrupted: UInt32(try hex(o["corrupted"]))))
        }
    }
}
