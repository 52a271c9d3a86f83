/// One layer's GEMM on the device as spec §3 describes it, written out here
/// apart from the runtime's `TileMap` so that the reference checks it too.
public struct SpecGeometry: Sendable {
    /// M, K, N (columns per image), the K tile width, B blocks × T threads.
    public var rows: Int, depth: Int, columns: Int, tileK: Int, blocks: Int, threads: Int

    public init(rows: Int, depth: Int, columns: Int, tileK: Int, blocks: Int, threads: Int) {
        self.rows = rows; self.depth = depth; self.columns = columns
        self.tileK = tileK; self.blocks = blocks; self.threads = threads
    }

    /// ⌈K/tileK⌉ K tiles per row block.
    public var kTiles: Int { (depth + tileK - 1) / tileK }

    /// Tiles (l, m) of the GEMM that block s runs per image: q = l·kTiles + m ≡ s (mod B).
    public func tileCount(block s: Int) -> Int {
        let all = ((rows + threads - 1) / threads) * kTiles
        return stride(from: s, to: all, by: blocks).underestimatedCount
    }

    /// The j-th tile of block s, as (row block l, K tile m).
    public func tile(_ j: Int, block s: Int) -> (l: Int, m: Int) {
        let q = s + j * blocks
        return (q / kTiles, q % kTiles)
    }

    /// Row position r computed by thread t in row block l.
    public func position(rowBlock l: Int, thread t: Int) -> Int { l * threads + t }
}
