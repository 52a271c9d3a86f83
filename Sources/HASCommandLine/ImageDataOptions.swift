import ArgumentParser
import HASRuntime

/// `--images` and `--labels`: a labelled image file, as has-run and has-plan take it.
public struct ImageDataOptions: ParsableArguments {
    @Option(help: "Images: an IDX file (gzip or raw) or a .npy array of pixels [N, H, W].")
    public var images: String?

    @Option(help: "Labels for --images: an IDX label file or a .npy integer array.")
    public var labels: String?

    public init() {}

    /// The images (the first `limit`) preprocessed for `model`, with their labels when given.
    /// - Throws: `InputError` naming the file that is unreadable or does not fit the model.
    public static func open(images: String, labels: String?, limit: Int? = nil, for model: LoadedModel) throws -> ImageSet {
        try ImageSet.open(images: images, labels: labels, limit: limit, input: model.bundle.manifest.input,
                          model: model.network.name, classCount: model.network.classes.count)
    }
}
