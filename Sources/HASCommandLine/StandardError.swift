import Foundation

/// Notes and progress lines for the user, kept off stdout (which may carry JSON).
public enum StandardError {
    public static func write(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
