import Foundation
import HASCommandLine
import HASRuntime

/// Which schedule plan `has-run --device` applies: `--plan FILE`, or the plan
/// stored for (model, device fingerprint) under `--plans` (default `Plans/`).
struct PlanSelection {
    var path: String
    var plan: SchedulePlan

    /// The plan to apply, validated against the model and the device; nil when
    /// none was asked for and none is stored (the run is then unshuffled).
    /// - Throws: `InputError` naming the plan file when it is unreadable or
    ///   made for another model, weights, device, or layers.
    static func resolve(explicit: String?, plansDirectory: String, network: Network, weightsDigest: String,
                        profile: FaultProfile) throws -> PlanSelection? {
        let fingerprint = profile.fingerprint
        guard let path = explicit ?? SchedulePlan.find(in: plansDirectory, model: network.name, fingerprint: fingerprint) else {
            return nil
        }
        let plan = try SchedulePlan.load(from: path, maxBytes: SchedulePlan.maxFileBytes(for: network))
        try plan.validate(for: network, weightsDigest: weightsDigest, fingerprint: fingerprint, file: path)
        return PlanSelection(path: path, plan: plan)
    }

    static func note(_ text: String) {
        StandardError.write("has-run: " + text)
    }
}
