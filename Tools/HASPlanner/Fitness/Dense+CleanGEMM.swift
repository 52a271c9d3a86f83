import HASRuntime

extension Dense {
    /// C = W·X per image ([N, M], before bias), captured from the layer's own
    /// forward pass (its GEMM hook), so that it is bit-identical to what a full
    /// pass computes. `options` give the threads; their own hook is replaced.
    func cleanGEMM(_ x: Tensor, options: ForwardOptions) -> [Float] {
        let n = x.shape[0], m = outFeatures
        var c = [Float](repeating: 0, count: n * m)
        c.withUnsafeMutableBufferPointer { cp in
            let out = cp.baseAddress!
            var capture = options
            capture.afterGEMM = { event in
                for i in 0..<event.batchSize {
                    let y = event.output(i), row = out + (event.firstImageIndex + i) * m
                    for j in 0..<m { row[j] = y[j * event.cRowStride] }
                }
            }
            _ = forward(x, options: capture)
        }
        return c
    }
}
