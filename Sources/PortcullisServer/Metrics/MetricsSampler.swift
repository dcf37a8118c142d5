import CoreMetrics
import PortcullisCore
import PortcullisStore
import Synchronization

/// Sets the gauges that describe state rather than count events, when metrics are read: sessions
/// (in the store and in memory), active bans, the password-hash queue.
///
/// The store is asked at most every ``storeInterval``, whatever the number of scrapers, so a scraper
/// cannot turn into load on the store. Only the first scrape waits for the store; later ones start a
/// refresh and answer at once with the values read before, so a slow or stopped store never makes a
/// scrape time out (which would lose every counter just when they matter). A store that does not
/// answer leaves the last values, and `portcullis_store_sample_timestamp_seconds` says how old they are.
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
        let (due, first) = lastStoreRead.withLock { last -> (Bool, Bool) in
            guard last.map({ now - $0 >= Self.storeInterval || now < $0 }) ?? true else { return (false, false) }
            defer { last = now }
            return (true, last == nil)
        }
        guard due else { return }
        if first {
            await readStore(now: now)
        } else {
            Task { await self.readStore(now: now) }
        }
    }

    private func readStore(now: Int64) async {
        guard let live = try? await store.liveSessionCount(at: now), let bans = try? await store.activeBans(at: now) else { return }
        metrics.liveSessions.record(live)
        metrics.activeBans.record(bans.count)
        metrics.storeSampledAt.record(now)
    }
}
