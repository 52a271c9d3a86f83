/// Images (and optionally labels) named by a user, ready to classify with a
/// network: IDX files, `.npy` arrays or PNG files, preprocessed as the model's
/// manifest says, one batch at a time.
public struct ImageSet {
    public let source: ImageSource
    /// Ground-truth class per image, when labels were given.
    public let labels: [Int]?
    /// Where the images came from, for messages ("t10k-images-idx3-ubyte.gz", or the PNG names).
    public let origin: String
    /// Per-image display names (PNG file names); nil for arrays.
    public let names: [String]?

    /// Opens an image array file and, optionally, its labels.
    ///
    /// - IDX (gzip or raw, MNIST layout) or `.npy` uint8 [N, H, W]: raw 0…255
    ///   pixels, preprocessed (resize, scale) as `input` says.
    /// - `.npy` float32 [N, C, H, W] of exactly the model's input shape: taken
    ///   as already preprocessed model inputs.
    /// Labels: an IDX label file or a `.npy` uint8 [N] array; values must name a class.
    public static func open(images path: String, labels labelPath: String?, limit: Int?,
                            input: InputSpec, model: String, classCount: Int) throws -> ImageSet {
        let source: ImageSource
        if path.hasSuffix(".npy") {
            source = try npySource(path: path, limit: limit, input: input, model: model)
        } else {
            let images = try IDXImages.read(path: path, limit: limit)
            source = IDXImageSource(images: images, maker: try ImageBatchMaker(input: input, model: model), file: path)
        }
        // Nothing to classify: refused before any output (an accuracy over no image is NaN).
        guard source.count > 0 else { throw InputError(file: path, "holds no images") }
        var labels: [Int]?
        if let labelPath {
            let values: [UInt8]
            if labelPath.hasSuffix(".npy") {
                let array = try NPYArray.decode(InputFile(path: labelPath).readAll(maxBytes: 1 << 30, what: "the label array"),
                                                file: labelPath)
                guard array.dtype.hasSuffix("u1"), array.shape.count == 1 else {
                    throw InputError(file: labelPath, "labels must be a 1-D uint8 array, got \(array.dtype) \(array.shape)")
                }
                values = array.values.prefix(limit ?? Int.max).map { UInt8($0) }
            } else {
                values = try IDXLabels.read(path: labelPath, limit: limit).labels
            }
            try IDXLabels(labels: values).check(classCount: classCount, file: labelPath)
            guard values.count == source.count else {
                throw InputError(file: labelPath, "has \(values.count) labels but \(path) has \(source.count) images"
                                 + (limit == nil ? "" : " (after --limit)"))
            }
            labels = values.map(Int.init)
        }
        return ImageSet(source: source, labels: labels, origin: path, names: nil)
    }

    /// Opens PNG files (8-bit gray, or colour converted to gray).
    public static func open(pngs paths: [String], input: InputSpec, model: String) throws -> ImageSet {
        let images = try paths.map { try GrayImage.readPNG(path: $0) }
        let tensor = try ImageBatchMaker(input: input, model: model).batch(images: images, files: paths)
        return ImageSet(source: TensorImageSource(tensor), labels: nil,
                        origin: paths.count == 1 ? paths[0] : "\(paths.count) PNG files", names: paths)
    }

    private static func npySource(path: String, limit: Int?, input: InputSpec, model: String) throws -> ImageSource {
        let array = try NPYArray.decode(InputFile(path: path).readAll(maxBytes: 1 << 31, what: "the image array"), file: path)
        if array.dtype.hasSuffix("u1") {
            guard array.shape.count == 3 || (array.shape.count == 4 && array.shape[1] == 1) else {
                throw InputError(file: path, "uint8 images must be [N, H, W] or [N, 1, H, W], got \(array.shape)")
            }
            let n = min(array.shape[0], limit ?? Int.max), h = array.shape[array.shape.count - 2], w = array.shape.last!
            guard h > 0, w > 0 else { throw InputError(file: path, "images of \(h)×\(w) pixels are empty (shape \(array.shape))") }
            let images = IDXImages(count: n, height: h, width: w, pixels: array.values.prefix(n * h * w).map { UInt8($0) })
            return IDXImageSource(images: images, maker: try ImageBatchMaker(input: input, model: model), file: path)
        }
        guard array.dtype == "<f4", Array(array.shape.dropFirst()) == input.shape else {
            throw InputError(file: path, "float images must be float32 [N] + \(input.shape) (preprocessed model inputs) "
                             + "for model \(model); got \(array.dtype) \(array.shape)")
        }
        let n = min(array.shape[0], limit ?? Int.max), per = input.shape.reduce(1, *)
        return TensorImageSource(Tensor(shape: [n] + input.shape, data: Array(array.values.prefix(n * per))))
    }
}

/// IDX (or uint8 .npy) pixels, preprocessed a batch at a time.
struct IDXImageSource: ImageSource {
    let images: IDXImages
    let maker: ImageBatchMaker
    let file: String

    var count: Int { images.count }

    func batch(_ range: Range<Int>) throws -> Tensor {
        try maker.batch(from: images, range: range, file: file)
    }
}
