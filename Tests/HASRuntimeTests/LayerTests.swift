import XCTest
@testable import HASRuntime

final class LayerTests: XCTestCase {
    func randomTensor(_ shape: [Int], _ rng: inout SplitMix64) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextSignedUnit() })
    }

    func testConvMatchesDirectConvolutionForPaddingsAndStrides() {
        var rng = SplitMix64(seed: 11)
        let cases: [(c: Int, h: Int, w: Int, o: Int, k: (Int, Int), stride: [Int], pad: [Int])] = [
            (1, 32, 32, 32, (4, 4), [1, 1], [0, 0, 0, 0]),   // mnist32 c0 (valid)
            (1, 28, 28, 8, (4, 4), [1, 1], [1, 1, 2, 2]),    // fashion c0 ('same', even kernel)
            (3, 9, 7, 5, (3, 2), [2, 1], [1, 0, 2, 1]),      // non-square, stride 2, asymmetric pads
            (2, 5, 5, 3, (5, 5), [3, 3], [2, 2, 2, 2]),
        ]
        for (index, t) in cases.enumerated() {
            let x = randomTensor([3, t.c, t.h, t.w], &rng)
            let w = randomTensor([t.o, t.c, t.k.0, t.k.1], &rng)
            let b = (0..<t.o).map { _ in rng.nextSignedUnit() }
            let g = ConvGeometry(channels: t.c, height: t.h, width: t.w, kernelH: t.k.0, kernelW: t.k.1,
                                 strideH: t.stride[0], strideW: t.stride[1], padding: t.pad)
            let conv = Conv2D(name: "c", geometry: g, outChannels: t.o, weight: w.data, bias: b)
            for threads in [1, 2] {
                let got = conv.forward(x, options: ForwardOptions(threads: threads))
                let want = NaiveReference.conv(x, weight: w, bias: b, stride: t.stride, padding: t.pad)
                XCTAssertEqual(got.shape, [3, t.o, g.outHeight, g.outWidth])
                for i in want.indices {
                    XCTAssertEqual(Double(got.data[i]), want[i], accuracy: 1e-5, "case \(index) element \(i)")
                }
            }
        }
    }

    func testMaxPoolFloorModeAndNaNPropagation() {
        let x = Tensor(shape: [1, 1, 3, 5], data: [1, 2, 3, 4, 5,  6, 7, 8, .nan, 10,  11, 12, 13, 14, 15])
        let pool = MaxPool2D(geometry: ConvGeometry(channels: 1, height: 3, width: 5, kernelH: 2, kernelW: 2,
                                                    strideH: 2, strideW: 2))
        let y = pool.forward(x)
        XCTAssertEqual(y.shape, [1, 1, 1, 2])
        XCTAssertEqual(y.data[0], 7)
        XCTAssertTrue(y.data[1].isNaN, "a NaN in the window must survive pooling")
    }

    func testArgmaxTreatsNaNAsMinusInfinity() {
        let z = Tensor(shape: [3, 3], data: [.nan, 1, 0,  .nan, .nan, .nan,  -.infinity, .infinity, .nan])
        XCTAssertEqual(Activations.argmax(z), [1, -1, 1])
    }

    func testReLUAndSoftmax() {
        var x = Tensor(shape: [1, 4], data: [-1, 0, 2, .nan])
        Activations.relu(&x)
        XCTAssertEqual(x.data, [0, 0, 2, 0])
        var s = Tensor(shape: [2, 3], data: [1000, 1001, 1002, 0, 0, 0])
        Activations.softmax(&s)
        XCTAssertEqual(s.data[2], 0.66524096, accuracy: 1e-6)
        XCTAssertEqual(s.data[3], 1.0 / 3, accuracy: 1e-6)
    }

    /// A network with every layer type, run through `Network` and the naive reference.
    func testNetworkMatchesNaiveForward() throws {
        var rng = SplitMix64(seed: 12)
        let (manifest, tensors) = Self.smallModel(&rng)
        let net = try Network(manifest: manifest, tensors: tensors, file: "small")
        let x = randomTensor([5, 1, 12, 12], &rng)
        let want = NaiveReference.forward(manifest: manifest, tensors: tensors, input: x)
        for threads in [1, 2] {
            var perms: [String: [Int32]] = [:]
            for (name, shape) in net.weightedLayers {
                var p = (0..<Int32(shape.m)).map { $0 }
                p.shuffle(using: &rng)
                perms[name] = p
            }
            for options in [ForwardOptions(threads: threads), ForwardOptions(permutations: perms, threads: threads)] {
                let got = net.logits(x, options: options)
                XCTAssertEqual(got.shape, [5, 3])
                for i in want.indices { XCTAssertEqual(Double(got.data[i]), want[i], accuracy: 1e-4) }
            }
        }
        let probs = net.probabilities(x)
        for row in 0..<5 { XCTAssertEqual(probs.data[row * 3..<row * 3 + 3].reduce(0, +), 1, accuracy: 1e-5) }
    }

    func testNetworkRejectsShapeMismatchNamingTheLayer() {
        var rng = SplitMix64(seed: 13)
        var (manifest, tensors) = Self.smallModel(&rng)
        tensors["h0.weight"] = randomTensor([3, 30], &rng)
        XCTAssertThrowsError(try Network(manifest: manifest, tensors: tensors, file: "m.zip")) { error in
            XCTAssertEqual("\(error)", "m.zip: layer h0: weight is [3, 30] but its input has 36 features")
        }
        (manifest, tensors) = Self.smallModel(&rng)
        manifest.classes = ["a", "b"]
        XCTAssertThrowsError(try Network(manifest: manifest, tensors: tensors, file: "m.zip")) { error in
            XCTAssertEqual("\(error)", "m.zip: the network outputs 3 values but the manifest lists 2 classes")
        }
        (manifest, tensors) = Self.smallModel(&rng)
        manifest.layers[1].type = "gelu"
        XCTAssertThrowsError(try Network(manifest: manifest, tensors: tensors, file: "m.zip")) { error in
            XCTAssertTrue("\(error)".contains("unknown layer type 'gelu'"))
        }
    }

    /// im2col against its definition: asymmetric pads, strides, kernels as wide as the padded input.
    func testIm2colMatchesDefinition() {
        var rng = SplitMix64(seed: 10)
        let geometries = [
            ConvGeometry(channels: 2, height: 7, width: 6, kernelH: 4, kernelW: 4, padding: [1, 1, 2, 2]),
            ConvGeometry(channels: 3, height: 9, width: 8, kernelH: 3, kernelW: 2, strideH: 2, strideW: 3, padding: [0, 2, 1, 0]),
            ConvGeometry(channels: 1, height: 5, width: 5, kernelH: 5, kernelW: 7, padding: [0, 3, 0, 3]),
            ConvGeometry(channels: 2, height: 4, width: 9, kernelH: 1, kernelW: 3, strideW: 2),
        ]
        for g in geometries {
            let image = (0..<(g.channels * g.height * g.width)).map { _ in rng.nextSignedUnit() }
            var cols = [Float](repeating: .nan, count: g.patchSize * g.positions)
            image.withUnsafeBufferPointer { ip in cols.withUnsafeMutableBufferPointer { cp in
                im2col(g, image: ip.baseAddress!, into: cp.baseAddress!)
            } }
            var row = 0
            for c in 0..<g.channels {
                for i in 0..<g.kernelH {
                    for j in 0..<g.kernelW {
                        for oy in 0..<g.outHeight {
                            for ox in 0..<g.outWidth {
                                let y = oy * g.strideH + i - g.padTop, x = ox * g.strideW + j - g.padLeft
                                let want: Float = (0..<g.height).contains(y) && (0..<g.width).contains(x)
                                    ? image[(c * g.height + y) * g.width + x] : 0
                                XCTAssertEqual(cols[row * g.positions + oy * g.outWidth + ox], want, "\(g) row \(row) (\(oy), \(ox))")
                            }
                        }
                        row += 1
                    }
                }
            }
        }
    }

    /// The fused conv → ReLU → max pool (pool first, then bias and ReLU) gives
    /// the bits of running the three layers one by one, also when a hook puts
    /// NaN and ±Inf into the conv's GEMM output (as the fault simulator may).
    func testFusedConvReLUPoolEqualsUnfusedLayers() throws {
        var rng = SplitMix64(seed: 9)
        let (manifest, tensors) = Self.smallModel(&rng)
        let network = try Network(manifest: manifest, tensors: tensors, file: "m.zip")
        let x = Tensor(shape: [5, 1, 12, 12], data: (0..<(5 * 144)).map { _ in rng.nextSignedUnit() })
        let specials: [Float] = [.nan, .infinity, -.infinity, .nan]
        for hooked in [false, true] {
            var options = ForwardOptions(threads: 2)
            if hooked {
                options.afterGEMM = { event in
                    guard event.layerName == "c0" else { return }
                    for i in 0..<event.batchSize {
                        let out = event.output(i)
                        // Several specials per image, some sharing a pooling window.
                        for (j, v) in specials.enumerated() { out[(i * 7 + j * 13) % 144] = v }
                        out[144 + 2] = .nan; out[144 + 3] = .nan; out[144 + 14] = .nan; out[144 + 15] = .nan  // one all-NaN window
                    }
                }
            }
            let fused = network.run(x, layers: 0..<3, options: options)
            var unfused = network.run(x, layers: 0..<1, options: options)
            unfused = network.run(unfused, layers: 1..<2, options: options)
            unfused = network.run(unfused, layers: 2..<3, options: options)
            XCTAssertEqual(fused.shape, unfused.shape)
            XCTAssertEqual(fused.data.map(\.bitPattern), unfused.data.map(\.bitPattern), "hooked \(hooked)")
        }
    }

    /// Clean unshuffled conv → ReLU → 2×2 pool with no hook runs as one direct
    /// kernel where the CPU has it (AVX-512; each variant is forced in turn): same bits as the im2col + GEMM
    /// path that a hook forces, NaN and ±Inf inputs included, odd sizes,
    /// paddings, K over 256, 1 or 2 threads.
    func testDirectConvReLUPoolEqualsIm2colPath() throws {
        for isa in KernelISA.supported { try KernelISA.with(isa) { checkDirectConvReLUPoolEqualsIm2colPath(isa) } }
    }

    func checkDirectConvReLUPoolEqualsIm2colPath(_ isa: KernelISA) {
        var rng = SplitMix64(seed: 21)
        // mnist32-cnn's c0; fashion-cnn's padded c0 and c1 (K = 512: two blocks of 256); odd sizes.
        for (c, h, w, kh, kw, o, pad) in [(1, 32, 32, 4, 4, 32, [0, 0, 0, 0]), (1, 28, 28, 4, 4, 6, [1, 1, 2, 2]),
                                          (32, 14, 14, 4, 4, 6, [1, 1, 2, 2]), (2, 11, 13, 3, 2, 5, [0, 0, 0, 0]),
                                          (3, 9, 30, 2, 3, 7, [0, 1, 2, 0]), (30, 7, 20, 3, 3, 3, [1, 0, 0, 1]),
                                          (2, 6, 22, 3, 3, 9, [0, 0, 0, 0]), (1, 5, 8, 2, 2, 13, [0, 0, 0, 0]),
                                          (40, 6, 12, 3, 3, 4, [1, 1, 1, 1])] {
            let g = ConvGeometry(channels: c, height: h, width: w, kernelH: kh, kernelW: kw, padding: pad)
            let conv = Conv2D(name: "c", geometry: g, outChannels: o,
                              weight: randomTensor([o * c * kh * kw], &rng).data, bias: randomTensor([o], &rng).data)
            let pool = MaxPool2D(geometry: ConvGeometry(channels: o, height: g.outHeight, width: g.outWidth,
                                                        kernelH: 2, kernelW: 2, strideH: 2, strideW: 2))
            // Every width here fits the direct kernel: it must run (not fall back) with AVX-512, and only there
            // (on AVX2, im2col + GEMM is faster: BENCHMARKS.md, "A fused conv kernel for AVX2").
            XCTAssertEqual(conv.fusesDirectly(pool), isa == .avx512, "\(isa) \(c)×\(h)×\(w)")
            var x = randomTensor([9, c, h, w], &rng)
            for (j, v) in [Float.nan, .infinity, -.infinity, -0.0].enumerated() { x.data[(j * 37) % x.count] = v }
            for threads in [1, 2] {
                let direct = conv.forward(x, options: ForwardOptions(threads: threads), relu: true, pool: pool)
                let viaGEMM = conv.forward(x, options: ForwardOptions(afterGEMM: { _ in }, threads: threads),
                                           relu: true, pool: pool)
                XCTAssertEqual(direct.shape, viaGEMM.shape)
                XCTAssertEqual(direct.data.map(\.bitPattern), viaGEMM.data.map(\.bitPattern),
                               "\(isa) \(c)×\(h)×\(w) kernel \(kh)×\(kw) threads \(threads) (direct kernel: \(conv.fusesDirectly(pool)))")
            }
        }
    }

    /// conv(2×1×3×3, pad 1) → relu → maxpool 2 → conv(4×2×2×2, stride 2) → relu → dropout → flatten → dense(3) → softmax.
    static func smallModel(_ rng: inout SplitMix64) -> (Manifest, [String: Tensor]) {
        func t(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextSignedUnit() })
        }
        let tensors = ["c0.weight": t([2, 1, 3, 3]), "c0.bias": t([2]), "c1.weight": t([4, 2, 2, 2]), "c1.bias": t([4]),
                       "h0.weight": t([3, 36]), "h0.bias": t([3])]
        let layers = [
            LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1], padding: [1, 1, 1, 1]),
            LayerSpec(type: "relu"),
            LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]),
            LayerSpec(type: "conv2d", name: "c1", weight: "c1.weight", bias: "c1.bias", stride: [2, 2], padding: [0, 0, 0, 0]),
            LayerSpec(type: "relu"),
            LayerSpec(type: "dropout", rate: 0.3),
            LayerSpec(type: "flatten"),
            LayerSpec(type: "dense", name: "h0", weight: "h0.weight", bias: "h0.bias"),
            LayerSpec(type: "softmax"),
        ]
        let manifest = Manifest(name: "small", input: InputSpec(shape: [1, 12, 12], preprocessing: Preprocessing()),
                                classes: ["a", "b", "c"], layers: layers)
        return (manifest, tensors)
    }
}
