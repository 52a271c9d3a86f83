import HASRuntime
import XCTest

/// Forcing an instruction-set variant: the kernels report the forced one, the
/// previous choice comes back afterwards.
final class KernelISATests: XCTestCase {
    func testForcedVariantIsTheOneInUseAndIsRestored() throws {
        XCTAssertNil(KernelISA.forced)
        let automatic = KernelISA.current
        XCTAssertEqual(KernelISA.supported.first, .generic)
        XCTAssertEqual(KernelISA.supported.last, automatic, "cpuid picks the best supported variant")
        for isa in KernelISA.supported {
            try KernelISA.with(isa) {
                XCTAssertEqual(KernelISA.current, isa)
                XCTAssertEqual(KernelISA.forced, isa)
                // The SGEMM micro-kernel follows: AVX2 (and AVX-512's wide kernel on top of it) or generic.
                XCTAssertEqual(PermutedGEMM.usesAVX2, isa != .generic)
            }
        }
        XCTAssertNil(KernelISA.forced)
        XCTAssertEqual(KernelISA.current, automatic)
    }

}
