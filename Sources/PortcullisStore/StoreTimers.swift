public import CoreMetrics
import Synchronization

/// How long store operations take, as one swift-metrics timer per operation
/// (`portcullis_store_operation_seconds{operation="create_session"}` with Prometheus).
///
/// Operations are named by the store's own fixed descriptions ("create a session" becomes
/// `create_session`), so the label set is bounded by the code, never by input.
public final class StoreTimers: Sendable {
    /// The metric's name.
    public static let label = "portcullis_store_operation_seconds"

    private let factory: any MetricsFactory
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])

    /// - Parameter factory: where the timers are made; the no-op factory records nothing.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
    }

    /// Records that `action` took from `start` until now.
    public func record(_ action: String, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        timer(for: action).recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    private func timer(for action: String) -> CoreMetrics.Timer {
        timers.withLock { timers in
            if let timer = timers[action] { return timer }
            let timer = CoreMetrics.Timer(label: Self.label, dimensions: [("operation", Self.operationName(action))], factory: factory)
            timers[action] = timer
            return timer
        }
    }

    /// "end a user's sessions" → "end_users_sessions": lower-case words joined by `_`, articles dropped.
    static func operationName(_ action: String) -> String {
        action.lowercased().split(separator: " ")
            .map { $0.filter { $0.isASCII && ($0.isLetter || $0.isNumber) } }
            .filter { !$0.isEmpty && $0 != "a" && $0 != "an" && $0 != "the" }
            .joined(separator: "_")
    }
}
