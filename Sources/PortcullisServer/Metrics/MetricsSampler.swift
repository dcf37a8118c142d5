import CoreMetrics
import PortcullisCore
import PortcullisStore
import Synchronization

/// Sets the gauges that describe state rather than count events, when metrics are read: sessions
/// (in the store and in memory), active bans, the password-hash queue.
///
/// The store is asked at most every ``storeInterval``, whatever the number of scrapers, so a scraper
/// cannot turn into load on the store; a store that does not answer leaves the last values.
final class MetricsSampler: Sendable {
    static let storeInterval: Int64 = 10

    let metrics: GateMetrics
    let store: any Store
    let cache: SessionCache
    let pool: PasswordHashPool?
    let clock: GateClock
    /// When the store was last asked (unix seconds), or nil.
    private let lastStoreRead = Mutex<Int64?>(nil)

    init(metrics: GateMetrics, store: any Store, cache: SessionCache, pool: PasswordHashPool?, clock: GateClock) {
        self.metrics = metrics
        self.store = store
        self.cache = cache
        self.pool = pool
        self.clock = clock
    }

    func sample() async {
        metrics.cachedSessions.record(cache.count)
        if let pool {
            metrics.hashQueue.record(pool.queued)
            metrics.hashQueueCapacity.record(pool.capacity)
        }
        let now = clock.now()
        let due = lastStoreRead.withLock { last in
            guard last.map({ now - $0 >= Self.storeInterval || now < $0 }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        if let live = try? await store.liveSessionCount(at: now) { metrics.liveSessions.record(live) }
        if let bans = try? await store.activeBans(at: now) { metrics.activeBans.record(bans.count) }
    }
}
