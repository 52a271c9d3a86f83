import Foundation
import HASRuntime
import XCTest
@testable import HASDiagnosis

/// Diagnosis end to end on small devices: through the device interface only,
/// every kind identified, the true rates inside their intervals, budgets,
/// resuming, determinism and the checkpoint's checks.
final class DeviceDiagnosisTests: XCTestCase {
    /// A loose precision keeps these small devices fast; the floors are in BENCHMARKS.md.
    let settings = DiagnosisSettings(precision: 0.25, rateFloor: 0.01)

    func synthetic(_ kind: ErrorKind, _ frMax: Double, seed: UInt64 = 1, bits: ExponentBits = .low7) throws -> FaultProfile {
        try FaultProfile.synthetic(kind: kind, frMax: frMax, seed: seed, blocks: 4, threads: 8, exponentBits: bits)
    }

    func diagnose(_ profile: FaultProfile, settings: DiagnosisSettings? = nil, threads: Int = 2) throws -> DiagnosisResult {
        let device = SimulatedDevice(profile: profile, seed: 5, threads: threads)
        return try DeviceDiagnosis(device: device, settings: settings ?? self.settings).run()
    }

    func truth(_ profile: FaultProfile) -> [[Double]] {
        (0..<profile.geometry.blocks).map { s in (0..<profile.geometry.threads).map { profile.rate(block: s, thread: $0) } }
    }

    func testEveryKindIsIdentifiedAndItsRatesCovered() throws {
        for (kind, frMax) in [(ErrorKind.flip1, 0.05), (.flip0, 0.3), (.bitflip, 0.05), (.tf32, 0.2), (.bf16, 0.5), (.zero, 0.2)] {
            let profile = try synthetic(kind, frMax)
            let result = try diagnose(profile)
            XCTAssertEqual(result.identification.kind, kind, result.identification.summary)
            XCTAssertEqual(result.identification.exponentBits, .low7)
            if kind == .flip0 || kind == .bitflip {
                // Clearing a high exponent bit gives a product so small that P + (P̃ − P) rounds to 0:
                // the simulator's way of applying a fault shows.
                XCTAssertEqual(result.identification.accumulation, .corrected, "\(kind)")
            }
            XCTAssertEqual(result.stop, .resolved)
            XCTAssertTrue(result.unresolved.isEmpty)
            let accuracy = DiagnosisAccuracy(result, truth: truth(profile), rateFloor: settings.rateFloor)
            // 32 PEs at 95%: 1.6 expected outside their interval; 6 or more is a 0.3% event.
            XCTAssertGreaterThanOrEqual(accuracy.coverage, 27.0 / 32, "\(kind): \(accuracy)")
            XCTAssertLessThan(try XCTUnwrap(accuracy.meanRelativeError), 0.15, "\(kind)")
        }
    }

    func testAllEightExponentBitsAreIdentified() throws {
        let result = try diagnose(try synthetic(.flip1, 0.05, bits: .all8))
        XCTAssertEqual(result.identification.kind, .flip1)
        XCTAssertEqual(result.identification.exponentBits, .all8)
    }

    func testFaultFreeDeviceIsReportedCleanWithAnUpperBound() throws {
        let result = try diagnose(try synthetic(.flip1, 0))
        XCTAssertNil(result.identification.kind)
        XCTAssertEqual(result.stop, .resolved)
        for e in result.estimates {
            XCTAssertEqual(e.rate, 0)
            XCTAssertGreaterThan(e.upper, 0)
            XCTAssertLessThanOrEqual(e.upper / 2, settings.precision * settings.rateFloor)
        }
        let profile = try result.profile()
        guard case .diagnosed(let d) = profile.origin else { return XCTFail("origin \(profile.origin)") }
        XCTAssertEqual(d.identifiedKind, "none")
        XCTAssertEqual(profile.meanRate, 0)
    }

    /// Diagnosis needs nothing but the interface: a device that is no simulator
    /// (its own faults, its own randomness, exact accumulation) is diagnosed too.
    func testAnyDeviceBehindTheInterfaceIsDiagnosed() throws {
        final class TruncatingDevice: TiledGEMMDevice {
            let geometry = FaultProfile.Geometry(blocks: 2, threads: 4)
            var rng = SplitMix64(seed: 9)
            /// Rows of PE r fail at rate 0.05·(r + 1), as bf16 truncation.
            func multiply(m: Int, k: Int, n: Int, tileK: Int, a: [Float], b: [Float], into c: inout [Float]) throws {
                precondition(k == 1 && tileK == 1 && m <= 8, "diagnosis asks for one-tile GEMMs over whole blocks")
                c = [Float](repeating: 0, count: m * n)
                for r in 0..<m {
                    for j in 0..<n {
                        var p = a[r] * b[j]
                        if Double(rng.next() >> 11) * 0x1p-53 < 0.05 * Double(r + 1) {
                            p = Float(bitPattern: p.bitPattern & ~0xFFFF)
                        }
                        c[r * n + j] = p
                    }
                }
            }
        }
        let device = TruncatingDevice()
        let result = try DeviceDiagnosis(device: device, settings: settings).run()
        XCTAssertEqual(result.identification.kind, .bf16)
        XCTAssertEqual(result.identification.accumulation, .exact)
        var inside = 0
        for (pe, e) in result.estimates.enumerated() where e.lower <= 0.05 * Double(pe + 1) && 0.05 * Double(pe + 1) <= e.upper {
            inside += 1
        }
        XCTAssertGreaterThanOrEqual(inside, 6, "\(result.estimates.map(\.rate))")
    }

    func testBudgetStopsAndAResumedRunEndsIdentically() throws {
        let profile = try synthetic(.bitflip, 0.02, seed: 3)
        let settings = DiagnosisSettings(precision: 0.1, rateFloor: 0.01)
        let whole = try diagnose(profile, settings: settings)
        XCTAssertGreaterThan(whole.state.gemms, 3)

        var budget = settings
        budget.maxGEMMs = 3
        let first = try diagnose(profile, settings: budget)
        XCTAssertEqual(first.stop, .gemmBudget)
        XCTAssertEqual(first.state.gemms, 3)
        XCTAssertFalse(first.unresolved.isEmpty)
        // The state goes through its checkpoint file, as with has-diagnose --resume.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("diag-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try DiagnosisCheckpoint(device: "dev", settings: budget, state: first.state).write(to: file)
        let loaded = try DiagnosisCheckpoint.load(from: file, device: "dev", settings: settings)
        let device = SimulatedDevice(profile: profile, seed: 5, gemmsRun: loaded.state.gemms, threads: 2)
        let resumed = try DeviceDiagnosis(device: device, settings: settings, resumingFrom: loaded.state).run()
        XCTAssertEqual(resumed.estimates, whole.estimates)
        XCTAssertEqual(resumed.state.samples, whole.state.samples)
        XCTAssertEqual(resumed.state.gemms, whole.state.gemms)
    }

    func testResultDoesNotDependOnThreads() throws {
        let profile = try synthetic(.flip1, 0.05, seed: 4)
        XCTAssertEqual(try diagnose(profile, threads: 1).estimates, try diagnose(profile, threads: 2).estimates)
    }

    func testCheckpointsAreCheckedBeforeTheyAreTrusted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("diag-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.json").path
        func problem(_ device: String = "dev", _ settings: DiagnosisSettings? = nil) -> String {
            do {
                _ = try DiagnosisCheckpoint.load(from: path, device: device, settings: settings ?? self.settings)
                return "accepted"
            } catch let error as InputError {
                XCTAssertEqual(error.file, path)
                return error.problem
            } catch { return "\(error)" }
        }
        XCTAssertTrue(problem().hasPrefix("no checkpoint to resume from"), problem())

        var state = DiagnosisState(geometry: .init(blocks: 2, threads: 4))
        state.samples[0][0] = 100
        state.errors[0][0] = 3
        state.gemms = 1
        try DiagnosisCheckpoint(device: "dev", settings: settings, state: state).write(to: path)
        XCTAssertEqual(problem(), "accepted")
        XCTAssertTrue(problem("other").hasPrefix("made for another device"), problem("other"))
        XCTAssertTrue(problem("dev", DiagnosisSettings(precision: 0.1)).hasPrefix("made with other settings"))

        // An edited count, with the digest left as it was.
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "[100,0]", with: "[1000,0]")
        XCTAssertTrue(text.contains("[1000,0]"))
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertTrue(problem().contains("digest does not match"), problem())

        try "{\"format\": 3}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertTrue(problem().hasPrefix("not a diagnosis checkpoint"), problem())
    }

    func testBadSettingsAreRefused() throws {
        let device = SimulatedDevice(profile: try synthetic(.flip1, 0.01))
        for (settings, words) in [(DiagnosisSettings(precision: 0), "precision"), (DiagnosisSettings(maxGEMMs: 0), "GEMM budget"),
                                  (DiagnosisSettings(rateFloor: -1), "rate floor"), (DiagnosisSettings(maxSeconds: 0), "time budget")] {
            XCTAssertThrowsError(try DeviceDiagnosis(device: device, settings: settings)) { error in
                XCTAssertTrue("\(error)".contains(words), "\(error)")
            }
        }
    }

    /// A quarter-million-PE device gets GEMMs of at most 2^26 outputs (256 columns), not
    /// the 4096-column first GEMM of a small device, which it would have to refuse.
    func testLargeDevicesGetGEMMsTheyCanRun() throws {
        final class RecordingDevice: TiledGEMMDevice {
            let geometry = FaultProfile.Geometry(blocks: 256, threads: 1024)
            var sizes: [(m: Int, n: Int)] = []
            func multiply(m: Int, k: Int, n: Int, tileK: Int, a: [Float], b: [Float], into c: inout [Float]) throws {
                sizes.append((m, n))
                // A is all ones and K = 1: a fault-free device returns B in every row.
                c = [Float](repeating: 0, count: m * n)
                for r in 0..<m { c.replaceSubrange((r * n)..<((r + 1) * n), with: b) }
            }
        }
        let device = RecordingDevice()
        var budget = settings
        budget.maxGEMMs = 1
        let result = try DeviceDiagnosis(device: device, settings: budget).run()
        XCTAssertEqual(result.stop, .gemmBudget)
        let first = try XCTUnwrap(device.sizes.first)
        XCTAssertEqual(first.m, 1 << 18)
        XCTAssertLessThanOrEqual(first.m * first.n, 1 << 26)
    }
}
