import XCTest

/// Placeholder so the target builds before its tests land; asserts nothing about features.
final class DevicePackageTests: XCTestCase {}
