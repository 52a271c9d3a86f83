import HASRuntime

/// A seeded, stratified hold-out split of a training set: from each class the
/// same fraction goes to validation, chosen by a shuffle keyed by the seed.
public struct ValidationSplit: Equatable, Sendable {
    /// Indices into the training file, ascending.
    public var training: [Int]
    public var validation: [Int]

    public init(labels: [Int], fraction: Double, seed: UInt64) {
        precondition(fraction >= 0 && fraction < 1)
        var byClass: [Int: [Int]] = [:]
        for (i, label) in labels.enumerated() { byClass[label, default: []].append(i) }
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x5_9A11_7))
        var training: [Int] = [], validation: [Int] = []
        for label in byClass.keys.sorted() {
            var members = byClass[label]!
            shuffle(&members, with: &rng)
            let held = Int((Double(members.count) * fraction).rounded())
            validation += members[..<held]
            training += members[held...]
        }
        self.training = training.sorted()
        self.validation = validation.sorted()
    }
}

/// Fisher–Yates with our own generator (the standard library's shuffle may
/// change its algorithm between releases; this one never does).
public func shuffle<T>(_ items: inout [T], with rng: inout SplitMix64) {
    guard items.count > 1 else { return }
    for i in stride(from: items.count - 1, to: 0, by: -1) {
        let j = Int(rng.next() % UInt64(i + 1))
        items.swapAt(i, j)
    }
}
