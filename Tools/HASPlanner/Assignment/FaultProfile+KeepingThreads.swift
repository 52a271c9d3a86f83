import HASRuntime

extension FaultProfile {
    /// The same device with every thread but `threads` fault-free (in every
    /// block): the kept PEs draw exactly the faults they draw in `self`, which
    /// is what lets the assignment measure one position's PEs at a time.
    public func keepingThreads(_ threads: Set<Int>) throws -> FaultProfile {
        try FaultProfile(geometry: geometry, tiling: tiling, kind: kind, exponentBits: exponentBits,
                         rates: rates.map { block in block.indices.map { threads.contains($0) ? block[$0] : 0 } },
                         origin: origin)
    }
}
