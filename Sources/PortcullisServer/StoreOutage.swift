import PortcullisCore
import Synchronization

/// Whether the store keeps answering the session sync, and whether what memory holds may still
/// answer verify requests (`storage.outage_grace`).
///
/// The session sync reads the change log every second; each good read brings memory up to date
/// (``polled(at:)``). When no read has succeeded for ``detection`` seconds — reads that fail, or
/// that hang — the store is out; a logout or revocation elsewhere cannot reach this instance, so
/// sessions and lingering Basic credentials in memory answer only for the grace after that. Past
/// it, each is confirmed by the store (which answers 503 while it is away). Only a good read of
/// the change log ends an outage: it is what brings memory up to date.
///
/// Times are seconds of a monotonic clock (a wall clock stepped back would lengthen the grace).
/// The verify path reads one relaxed atomic flag; a watchdog (``evaluate(at:)``, every second)
/// moves it.
public final class StoreOutage: Sendable {
    /// What changed at an evaluation, for the log.
    public enum Transition: Equatable, Sendable {
        /// No good read for `seconds`: an outage began.
        case began(seconds: Int64)
        /// The outage outlasted the grace: memory no longer answers by itself.
        case graceOver(seconds: Int64)
        /// A good read ended an outage of `seconds`.
        case ended(seconds: Int64)
    }

    /// Seconds without a good read of the change log before the store counts as out (it is read every second).
    public static let detection: Int64 = 5
    /// How long memory is trusted once the store is out, in seconds.
    public let grace: Int64

    private struct State {
        var lastGood: Int64
        var out = false
        var graceOver = false
    }

    private let state: Mutex<State>
    private let trusted = Atomic<Bool>(true)

    /// - Parameter now: the monotonic time the sync starts at (it counts as a good read).
    public init(grace: Int64, now: Int64) {
        self.grace = max(0, grace)
        state = Mutex(State(lastGood: now))
    }

    /// Whether what memory holds may answer by itself.
    public var trustsMemory: Bool { trusted.load(ordering: .relaxed) }

    /// Whether the store is out now (as of the last evaluation).
    public var isOut: Bool { state.withLock { $0.out } }

    /// The sync read the change log and applied it at `now`. Returns the end of an outage, if this is one.
    @discardableResult
    public func polled(at now: Int64) -> Transition? {
        let ended: Transition? = state.withLock { state in
            let wasOut = state.out
            let seconds = now.subtractingSaturating(state.lastGood)
            state.lastGood = max(state.lastGood, now)
            state.out = false
            state.graceOver = false
            return wasOut ? .ended(seconds: seconds) : nil
        }
        trusted.store(true, ordering: .relaxed)
        return ended
    }

    /// Looks at the time since the last good read, at `now`; returns what changed.
    public func evaluate(at now: Int64) -> Transition? {
        state.withLock { state in
            let silent = now.subtractingSaturating(state.lastGood)
            if !state.out, silent >= Self.detection {
                state.out = true
                if grace == 0 { state.graceOver = true; trusted.store(false, ordering: .relaxed) }
                return .began(seconds: silent)
            }
            if state.out, !state.graceOver, silent >= Self.detection.addingSaturating(grace) {
                state.graceOver = true
                trusted.store(false, ordering: .relaxed)
                return .graceOver(seconds: silent)
            }
            return nil
        }
    }

    /// Seconds of a monotonic clock (since an arbitrary start), as the sync and the watchdog read them.
    public static func monotonicNow() -> Int64 {
        reference.duration(to: .now).components.seconds
    }

    private static let reference = ContinuousClock.now
}
