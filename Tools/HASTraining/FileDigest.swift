import Crypto
import HASRuntime

/// Hex SHA-256 of a file's bytes (as stored, i.e. of the .gz for gzip files).
public func sha256Hex(ofFile path: String) throws -> String {
    let url = URL(fileURLWithPath: path)
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw InputError(file: path, "cannot read: \(error.localizedDescription)")
    }
    return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

import Foundation
