#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The time in whole seconds since 1970, as the gate reads it. Tests pass a clock they move.
public struct GateClock: Sendable {
    public let now: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    /// The system clock (`time(2)`: cheap, no formatting, no allocation).
    public static let system = GateClock { Int64(time(nil)) }
}
