import XCTest

extension XCTestCase {
    /// Equal bit patterns; on failure, how many differ and the first few.
    func assertBitIdentical(_ a: [UInt32], _ b: [UInt32], _ message: String, file: StaticString = #filePath,
                            line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        let differing = zip(a, b).enumerated().filter { $0.element.0 != $0.element.1 }
        let first = differing.prefix(4).map { "[\($0.offset)] \(String($0.element.0, radix: 16)) vs \(String($0.element.1, radix: 16))" }
        XCTAssertTrue(differing.isEmpty, "\(message): \(differing.count) of \(a.count) differ: \(first)", file: file, line: line)
    }
}
