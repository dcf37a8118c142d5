public import Logging
public import PortcullisStore
public import ServiceLifecycle

/// Keeps the in-memory sessions and the store in step, in the background:
/// - performs the writes the verify path enqueued (activity, ended sessions);
/// - reloads the sessions when the store's change generation moves (a logout elsewhere,
///   `portcullis session revoke`, a user changed or removed), within ``pollInterval``;
/// - deletes sessions past their absolute expiry now and then.
public struct SessionSync: Service {
    let store: any Store
    let cache: SessionCache
    let writes: SessionWrites
    let clock: GateClock
    let logger: Logger
    /// How often the change generation is read.
    public var pollInterval: Duration = .seconds(1)
    /// How often expired sessions are purged.
    public var purgeInterval: Duration = .seconds(600)
    /// Called after a reload (something changed: forget what was derived from the old state).
    var onReload: @Sendable () -> Void = {}

    public init(store: any Store, cache: SessionCache, writes: SessionWrites, clock: GateClock, logger: Logger) {
        self.store = store
        self.cache = cache
        self.writes = writes
        self.clock = clock
        self.logger = logger
    }

    /// Reads every live session of enabled users from the store into the cache.
    public static func load(store: any Store, into cache: SessionCache, now: Int64) async throws {
        let since = cache.currentSequence()
        let sessions = try await store.liveSessions(at: now).compactMap { record, user in
            user.disabled ? nil : CachedSession(record: record, user: user)
        }
        cache.replace(with: sessions, readSince: since)
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await performWrites() }
            group.addTask { await pollForChanges() }
            await withGracefulShutdownHandler {
                await group.next()
            } onGracefulShutdown: {
                writes.finish()
            }
            group.cancelAll()
        }
    }

    private func performWrites() async {
        for await write in writes.stream {
            do {
                switch write {
                case .touch(let idHash, let time):
                    try await store.touchSession(idHash: idHash, lastActivity: time)
                case .delete(let idHash):
                    _ = try await store.deleteSession(idHash: idHash)
                case .appPasswordUsed(let id, let time):
                    try await store.touchAppPassword(id: id, at: time)
                }
            } catch {
                logger.warning("could not write a session change to the store", metadata: ["error": "\(error)"])
            }
        }
    }

    private func pollForChanges() async {
        var generation = (try? await store.changeGeneration()) ?? -1
        var lastPurge = clock.now()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                return
            }
            do {
                let current = try await store.changeGeneration()
                if current != generation {
                    try await Self.load(store: store, into: cache, now: clock.now())
                    onReload()
                    generation = current
                }
                if clock.now() - lastPurge >= Int64(purgeInterval.components.seconds) {
                    lastPurge = clock.now()
                    _ = try await store.purgeExpiredSessions(before: lastPurge)
                }
            } catch {
                logger.warning("could not read session changes from the store", metadata: ["error": "\(error)"])
            }
        }
    }
}
