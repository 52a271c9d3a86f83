import XCTest
@testable import HASRuntime

/// The permuted SGEMM against a naive Double-precision reference and against its
/// own scalar reference (same summation order, so bit-identical).
final class GEMMTests: XCTestCase {
    struct Case { var m, k, n: Int }

    /// Sizes around every tile edge (kernel 6×16, K block 256), primes, 1s, K < tile.
    static let cases: [Case] = [
        Case(m: 1, k: 1, n: 1), Case(m: 1, k: 7, n: 1), Case(m: 5, k: 3, n: 15), Case(m: 6, k: 16, n: 16),
        Case(m: 7, k: 17, n: 17), Case(m: 13, k: 31, n: 33), Case(m: 32, k: 16, n: 841),
        Case(m: 37, k: 255, n: 3), Case(m: 3, k: 257, n: 37), Case(m: 10, k: 64, n: 1),
        Case(m: 1, k: 513, n: 29), Case(m: 64, k: 256, n: 5), Case(m: 149, k: 300, n: 50),
        // Narrow B (batch 1–4): the matrix-vector path.
        Case(m: 37, k: 300, n: 1), Case(m: 16, k: 257, n: 3), Case(m: 64, k: 1000, n: 4), Case(m: 8, k: 7, n: 2),
    ]

    func testMatchesNaiveReferenceOnOddShapes() {
        var rng = SplitMix64(seed: 1)
        for c in Self.cases {
            for layout in 0..<3 {
                let a = (0..<(c.m * c.k)).map { _ in rng.nextSignedUnit() }
                let bv = (0..<(c.k * c.n)).map { _ in rng.nextSignedUnit() }
                // Layout 0: B row-major, C row-major (conv). 1: B = Xᵀ, C = Yᵀ (dense). 2: mixed.
                let (brs, bcs) = layout == 1 ? (1, c.k) : (c.n, 1)
                let (crs, ccs) = layout == 0 ? (c.n, 1) : (1, c.m)
                var out = [Float](repeating: .nan, count: c.m * c.n)
                run(c, a, bv, brs, bcs, &out, crs, ccs, perm: nil, threads: 2)
                for i in 0..<c.m {
                    for j in 0..<c.n {
                        var want = 0.0
                        for p in 0..<c.k { want += Double(a[i * c.k + p]) * Double(bv[p * brs + j * bcs]) }
                        let got = Double(out[i * crs + j * ccs])
                        XCTAssertEqual(got, want, accuracy: 1e-5 * max(1, Double(c.k).squareRoot()),
                                       "\(c) layout \(layout) at (\(i), \(j))")
                    }
                }
            }
        }
    }

    func testShuffledThenUnshuffledEqualsUnshuffled() {
        var rng = SplitMix64(seed: 2)
        for c in Self.cases {
            let a = (0..<(c.m * c.k)).map { _ in rng.nextSignedUnit() }
            let b = (0..<(c.k * c.n)).map { _ in rng.nextSignedUnit() }
            var plain = [Float](repeating: 0, count: c.m * c.n)
            run(c, a, b, c.n, 1, &plain, c.n, 1, perm: nil, threads: 1)
            for trial in 0..<3 {
                var perm = (0..<Int32(c.m)).map { $0 }
                perm.shuffle(using: &rng)
                var shuffled = [Float](repeating: .nan, count: c.m * c.n)
                run(c, a, b, c.n, 1, &shuffled, c.n, 1, perm: perm, threads: 2)
                for i in 0..<plain.count {
                    XCTAssertEqual(shuffled[i], plain[i], accuracy: 1e-5 * max(1, abs(plain[i])),
                                   "\(c) trial \(trial) element \(i)")
                }
            }
        }
    }

    func testFastKernelIsBitIdenticalToScalarReferenceAndThreadCount() throws {
        for isa in KernelISA.supported { try KernelISA.with(isa) { checkFastKernelIsBitIdenticalToScalarReferenceAndThreadCount(isa) } }
    }

    func checkFastKernelIsBitIdenticalToScalarReferenceAndThreadCount(_ isa: KernelISA) {
        var rng = SplitMix64(seed: 3)
        for c in Self.cases + [Case(m: 70, k: 600, n: 300)] {
            let a = (0..<(c.m * c.k)).map { _ in rng.nextSignedUnit() }
            let b = (0..<(c.k * c.n)).map { _ in rng.nextSignedUnit() }
            var perm = (0..<Int32(c.m)).map { $0 }
            perm.shuffle(using: &rng)
            var ref = [Float](repeating: 0, count: c.m * c.n)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                ref.withUnsafeMutableBufferPointer { cp in perm.withUnsafeBufferPointer { pp in
                    PermutedGEMM.reference(m: c.m, n: c.n, k: c.k, a: ap.baseAddress!, lda: c.k,
                                           b: StridedMatrix(bp.baseAddress!, rowStride: c.n, colStride: 1),
                                           c: StridedMatrix(cp.baseAddress!, rowStride: c.n, colStride: 1),
                                           permutation: pp)
                } }
            } }
            for threads in [1, 2] {
                var fast = [Float](repeating: .nan, count: c.m * c.n)
                run(c, a, b, c.n, 1, &fast, c.n, 1, perm: perm, threads: threads)
                XCTAssertEqual(fast.map(\.bitPattern), ref.map(\.bitPattern), "\(isa) \(c) threads \(threads)")
            }
        }
    }

    /// Pre-packed A (the identity-order fast path of clean inference) gives
    /// exactly the bits of the scalar reference, for both B layouts, any thread
    /// count and odd shapes; with a permutation the packed copy is ignored.
    /// 600×700 is a "large A": split by rows, B packed once and shared by the workers.
    func testPrePackedWeightsAreBitIdenticalToReference() throws {
        for isa in KernelISA.supported { try KernelISA.with(isa) { checkPrePackedWeightsAreBitIdenticalToReference(isa) } }
    }

    func checkPrePackedWeightsAreBitIdenticalToReference(_ isa: KernelISA) {
        var rng = SplitMix64(seed: 4)
        for c in Self.cases + [Case(m: 70, k: 600, n: 300), Case(m: 200, k: 40, n: 70), Case(m: 100, k: 513, n: 2),
                               Case(m: 600, k: 700, n: 300)] {
            let a = (0..<(c.m * c.k)).map { _ in rng.nextSignedUnit() }
            let b = (0..<(c.k * c.n)).map { _ in rng.nextSignedUnit() }
            let packed = PackedWeights(m: c.m, k: c.k, weights: a)
            var perm = (0..<Int32(c.m)).map { $0 }
            perm.shuffle(using: &rng)
            for (brs, bcs) in [(c.n, 1), (1, c.k)] {
                for permuted in [false, true] {
                    var ref = [Float](repeating: 0, count: c.m * c.n)
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                        ref.withUnsafeMutableBufferPointer { cp in perm.withUnsafeBufferPointer { pp in
                            PermutedGEMM.reference(m: c.m, n: c.n, k: c.k, a: ap.baseAddress!, lda: c.k,
                                                   b: StridedMatrix(bp.baseAddress!, rowStride: brs, colStride: bcs),
                                                   c: StridedMatrix(cp.baseAddress!, rowStride: c.n, colStride: 1),
                                                   permutation: permuted ? pp : nil)
                        } }
                    } }
                    for threads in [1, 2] {
                        var fast = [Float](repeating: .nan, count: c.m * c.n)
                        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                            fast.withUnsafeMutableBufferPointer { cp in perm.withUnsafeBufferPointer { pp in
                                PermutedGEMM.multiply(m: c.m, n: c.n, k: c.k, a: ap.baseAddress!, lda: c.k, packed: packed,
                                                      b: StridedMatrix(bp.baseAddress!, rowStride: brs, colStride: bcs),
                                                      c: StridedMatrix(cp.baseAddress!, rowStride: c.n, colStride: 1),
                                                      permutation: permuted ? pp : nil, threads: threads)
                            } }
                        } }
                        XCTAssertEqual(fast.map(\.bitPattern), ref.map(\.bitPattern),
                                       "\(isa) \(c) B strides (\(brs), \(bcs)) permuted \(permuted) threads \(threads)")
                    }
                }
            }
        }
    }

    /// A C of several MB over a single K block (c0's benchmark shape, scaled)
    /// is written with streaming stores when 16-byte aligned: same bits as the
    /// reference, aligned or not, shuffled or not, 1 or 2 threads.
    func testLargeOutputStreamingStoresAreBitIdentical() throws {
        for isa in KernelISA.supported { try KernelISA.with(isa) { checkLargeOutputStreamingStoresAreBitIdentical(isa) } }
    }

    func checkLargeOutputStreamingStoresAreBitIdentical(_ isa: KernelISA) {
        var rng = SplitMix64(seed: 5)
        let m = 32, k = 16, n = 70_000
        let a = (0..<(m * k)).map { _ in rng.nextSignedUnit() }
        let b = (0..<(k * n)).map { _ in rng.nextSignedUnit() }
        var perm = (0..<Int32(m)).map { $0 }
        perm.shuffle(using: &rng)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: (m * n + 16) * 4, alignment: 64)
        defer { raw.deallocate() }
        let aligned = raw.bindMemory(to: Float.self, capacity: m * n + 16)
        for permuted in [false, true] {
            var ref = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                ref.withUnsafeMutableBufferPointer { cp in perm.withUnsafeBufferPointer { pp in
                    PermutedGEMM.reference(m: m, n: n, k: k, a: ap.baseAddress!, lda: k,
                                           b: StridedMatrix(bp.baseAddress!, rowStride: n, colStride: 1),
                                           c: StridedMatrix(cp.baseAddress!, rowStride: n, colStride: 1),
                                           permutation: permuted ? pp : nil)
                } }
            } }
            for offset in [0, 1] {
                for threads in [1, 2] {
                    let out = aligned + offset
                    out.update(repeating: .nan, count: m * n)
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in perm.withUnsafeBufferPointer { pp in
                        PermutedGEMM.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: k,
                                              b: StridedMatrix(bp.baseAddress!, rowStride: n, colStride: 1),
                                              c: StridedMatrix(out, rowStride: n, colStride: 1),
                                              permutation: permuted ? pp : nil, threads: threads)
                    } } }
                    let got = UnsafeBufferPointer(start: out, count: m * n)
                    XCTAssertTrue(got.elementsEqual(ref) { $0.bitPattern == $1.bitPattern },
                                  "\(isa) permuted \(permuted) offset \(offset) threads \(threads)")
                }
            }
        }
    }

    private func run(_ c: Case, _ a: [Float], _ b: [Float], _ brs: Int, _ bcs: Int,
                     _ out: inout [Float], _ crs: Int, _ ccs: Int, perm: [Int32]?, threads: Int) {
        let p = perm ?? []
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { cp in
                    p.withUnsafeBufferPointer { pp in
                        PermutedGEMM.multiply(m: c.m, n: c.n, k: c.k, a: ap.baseAddress!, lda: c.k,
                                              b: StridedMatrix(bp.baseAddress!, rowStride: brs, colStride: bcs),
                                              c: StridedMatrix(cp.baseAddress!, rowStride: crs, colStride: ccs),
                                              permutation: perm == nil ? nil : pp, threads: threads)
                    }
                }
            }
        }
    }
}
