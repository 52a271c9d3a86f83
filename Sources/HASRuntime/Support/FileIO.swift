import Foundation

/// The whole of a small input file (a checkpoint, a plan), refusing one
/// larger than `maxBytes`; failures are `InputError`s naming `path`.
public func readInputFile(_ path: String, maxBytes: Int, what: String) throws -> [UInt8] {
    try InputFile(path: path).readAll(maxBytes: maxBytes, what: what)
}

/// A file opened for reading front to back in chunks, so that readers can
/// check a header before deciding how much of the rest to take.
///
/// Every failure is an `InputError` naming the path as the user gave it, with
/// the system's reason (`cannot open: No such file or directory`). Only
/// regular files are read: a FIFO, socket or device could block forever or
/// never end, and its size cannot be checked before reading.
final class InputFile {
    let path: String
    /// Size in bytes.
    let size: Int?
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        // Non-blocking, so that opening a FIFO with no writer returns at once (to be refused below).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw InputError(file: path, "cannot open: \(systemError())") }
        var info = stat()
        if fstat(fd, &info) != 0 {
            let reason = systemError()
            close(fd)
            throw InputError(file: path, "cannot read: \(reason)")
        }
        let type = info.st_mode & S_IFMT
        if type != S_IFREG {
            close(fd)
            let what = type == S_IFDIR ? "a directory" : type == S_IFIFO ? "a FIFO (named pipe)"
                : type == S_IFSOCK ? "a socket" : "a device"
            throw InputError(file: path, "is \(what), not a regular file")
        }
        // Reads block as usual from here on.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        self.fd = fd
        self.size = Int(info.st_size)
    }

    deinit { close(fd) }

    /// Reads up to `buffer.count` bytes; returns how many, 0 at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = systemRead(fd, base, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw InputError(file: path, "cannot read: \(systemError())") }
        }
    }

    /// The whole file, refused without reading it if it is larger than `maxBytes`.
    func readAll(maxBytes: Int, what: String) throws -> [UInt8] {
        let tooLarge = InputError(file: path, "\(what) is larger than \(maxBytes) bytes, the most this reader accepts")
        if let size, size > maxBytes { throw tooLarge }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return bytes }
            if bytes.count + n > maxBytes { throw tooLarge }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and
/// renames it over `path`: readers see the old file or the new one, never a
/// half-written one, even if the process dies mid-write.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    removeStaleTemporaries(of: path)
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    func fail(_ action: String) -> InputError {
        InputError(file: path, "cannot \(action) \(temporary): \(systemError())")
    }
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw fail("create") }
    var succeeded = false
    defer { if !succeeded { unlink(temporary) } }
    var done = 0
    var failed = false
    bytes.withUnsafeBytes { raw in
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failed = true; return }
            done += n
        }
    }
    guard !failed, fsync(fd) == 0 else {
        let error = fail("write")  // before close() can change errno
        close(fd)
        throw error
    }
    // close reports delayed write errors (full disk on NFS), so it is checked too.
    guard close(fd) == 0 else { throw fail("close") }
    guard rename(temporary, path) == 0 else { throw fail("rename into place") }
    succeeded = true
}

/// Removes the temporary files (`.NAME.tmp-PID-N`) that writers of `path`
/// killed mid-write left behind: those whose process no longer exists.
/// A live writer's file is left alone.
public func removeStaleTemporaries(of path: String) {
    let url = URL(fileURLWithPath: path)
    let prefix = ".\(url.lastPathComponent).tmp-"
    let directory = url.deletingLastPathComponent().path
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
    for name in names where name.hasPrefix(prefix) {
        guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0 else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { unlink((directory as NSString).appendingPathComponent(name)) }
    }
}

/// Creates `directory` and its parents, or throws one line naming it (a parent
/// that is a file, a read-only file system) instead of Foundation's multi-line error.
public func makeDirectory(_ directory: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
        if isDirectory.boolValue { return }
        throw InputError(file: directory, "is a file, not a directory")
    }
    let parent = (directory as NSString).deletingLastPathComponent
    if !parent.isEmpty && parent != directory { try makeDirectory(parent) }
    if mkdir(directory, 0o755) != 0 && errno != EEXIST {
        throw InputError(file: directory, "cannot create the directory: \(systemError())")
    }
}

/// Checks, before long work, that a file can later be written at `path`: its
/// directory exists (or can be made) and is writable, and `path` is not a directory.
public func checkWritable(_ path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    try makeDirectory(directory.isEmpty ? "." : directory)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw InputError(file: path, "is a directory")
    }
    if access(directory.isEmpty ? "." : directory, W_OK) != 0 {
        throw InputError(file: path, "cannot be written: \(systemError())")
    }
}

/// Writes text atomically (see `writeFileAtomically`).
public func writeFileAtomically(_ text: String, to path: String) throws {
    try writeFileAtomically(Array(text.utf8), to: path)
}

/// `read(2)`, named apart from `InputFile.read(into:)`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// The C library's text for the current `errno`.
public func systemError() -> String {
    String(cString: strerror(errno))
}
