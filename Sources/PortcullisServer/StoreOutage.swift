import PortcullisCore
import Synchronization

/// Since when the store has not answered, as the session sync and the verify path find it, and how
/// long what memory holds may be trusted meanwhile (`storage.outage_grace`).
///
/// During an outage a session ended elsewhere (a logout, a revocation, a disabled user) cannot reach
/// this instance, so sessions and lingering Basic credentials in memory verify only for the grace;
/// after it they need the store, which answers 503 until it is back. Read on every verify: one
/// relaxed atomic load.
public final class StoreOutage: Sendable {
    /// The time the outage began; 0 while the store answers.
    private let since = Atomic<Int64>(0)
    /// How long memory is trusted after the store stopped answering, in seconds.
    public let grace: Int64

    public init(grace: Int64) {
        self.grace = max(0, grace)
    }

    /// Whether what memory holds may answer at `now`: the store answers, or the outage is younger than the grace.
    public func trustsMemory(at now: Int64) -> Bool {
        let began = since.load(ordering: .relaxed)
        return began == 0 || now.subtractingSaturating(began) < grace
    }

    /// When the current outage began, if there is one.
    public var began: Int64? {
        let began = since.load(ordering: .relaxed)
        return began == 0 ? nil : began
    }

    /// The store did not answer at `now`. Returns true when this begins an outage.
    @discardableResult
    func failed(at now: Int64) -> Bool {
        since.compareExchange(expected: 0, desired: max(1, now), ordering: .relaxed).exchanged
    }

    /// The store answered. Returns when the outage it ends began, if there was one.
    @discardableResult
    func answered() -> Int64? {
        // A load first: the common case (no outage) writes nothing shared.
        guard since.load(ordering: .relaxed) != 0 else { return nil }
        let began = since.exchange(0, ordering: .relaxed)
        return began == 0 ? nil : began
    }
}
