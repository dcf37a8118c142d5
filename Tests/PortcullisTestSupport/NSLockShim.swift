import Foundation

/// A lock for test helpers that must be Sendable.
public final class NSLockShim: @unchecked Sendable {
    private let lock = NSLock()
    public init() {}
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
