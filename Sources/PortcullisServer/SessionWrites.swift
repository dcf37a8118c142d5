/// Store writes the verify path asks for without waiting: it only enqueues them, and
/// ``SessionSync`` performs them in the background.
public struct SessionWrites: Sendable {
    public enum Write: Sendable, Equatable {
        /// Record a session's activity.
        case touch(idHash: [UInt8], at: Int64)
        /// End a session (expired, used from outside its binding, or evicted).
        case delete(idHash: [UInt8])
        /// Record an app password's use (at most once a minute per lingering credential).
        case appPasswordUsed(id: Int64, at: Int64)
        /// Record a lingering Basic credential's use (its ``BasicLingerRecord`` key), so that other
        /// instances judge `basic.idle` by it.
        case basicLingerUsed(key: [UInt8], at: Int64)
    }

    let continuation: AsyncStream<Write>.Continuation
    let stream: AsyncStream<Write>

    /// The most writes waiting; beyond it the oldest are dropped (a touch only saves activity early,
    /// and a deletion is repeated by the expiry purge).
    public static let bufferLimit = 50_000

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Write.self, bufferingPolicy: .bufferingNewest(Self.bufferLimit))
    }

    /// Enqueues a write; never blocks.
    public func enqueue(_ write: Write) {
        continuation.yield(write)
    }

    func finish() {
        continuation.finish()
    }
}
