import HASRuntime

/// Accuracy averaged over several devices (for example drawn from a
/// diagnosis' posterior, `has-plan --robust K`): a plan that does well on
/// all of them does well on the device they were drawn for, whichever it is.
public final class DeviceAverageEvaluator: PlanEvaluator {
    public let members: [PlanEvaluator]

    public init(_ members: [PlanEvaluator]) {
        precondition(!members.isEmpty, "averaging over no device")
        self.members = members
    }

    public var plannedLayers: [DeviceLayer] { members[0].plannedLayers }
    public var imageCount: Int { members[0].imageCount }
    public var cleanAccuracy: Double { members[0].cleanAccuracy }

    public func forgetCandidates() { members.forEach { $0.forgetCandidates() } }

    /// Per seed, the mean over the devices.
    public func accuracies(permutations: [String: [Int32]], seeds: [UInt64]) -> [Double] {
        let each = members.map { $0.accuracies(permutations: permutations, seeds: seeds) }
        return seeds.indices.map { i in each.reduce(0) { $0 + $1[i] } / Double(each.count) }
    }
}
