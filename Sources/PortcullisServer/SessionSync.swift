public import Logging
public import PortcullisStore
public import ServiceLifecycle

/// Keeps the in-memory sessions and the store in step, in the background:
/// - performs the writes the verify path enqueued (activity, ended sessions);
/// - follows the store's change log (a logout elsewhere, `portcullis session revoke`, a user
///   changed or removed, a device or app password added or removed) within ``pollInterval``,
///   applying each change to what depends on it only; everything is read again only at start and
///   when this server fell behind the pruned log;
/// - deletes sessions past their absolute expiry, and prunes the change log, now and then.
///
/// Store reads happen outside the cache's lock; the cache then takes small deltas under it.
public struct SessionSync: Service {
    let store: any Store
    let cache: SessionCache
    let writes: SessionWrites
    let clock: GateClock
    let logger: Logger
    /// The change log sequence the cache is current with (read before the sessions were loaded).
    let startSequence: Int64
    /// How often the change log is read.
    public var pollInterval: Duration = .seconds(1)
    /// How often expired sessions are purged and the change log pruned.
    public var purgeInterval: Duration = .seconds(600)
    /// How many changes the log keeps: a server that is further behind reloads everything.
    public var changesKept = 100_000
    /// The most changes read at once.
    static let changesPerRead = 1000
    /// Called with a user whose record, devices or app passwords changed: forget what was checked
    /// against them (lingering Basic credentials).
    var onUserChanged: @Sendable (Int64) -> Void = { _ in }
    /// Called after everything was read again (what changed is unknown: forget everything derived).
    var onReload: @Sendable () -> Void = {}

    /// - Parameter sequence: what ``load(store:into:now:)`` returned for `cache`.
    public init(store: any Store, cache: SessionCache, writes: SessionWrites, clock: GateClock, logger: Logger, changesAfter sequence: Int64) {
        self.store = store
        self.cache = cache
        self.writes = writes
        self.clock = clock
        self.logger = logger
        self.startSequence = sequence
    }

    /// Reads every live session of enabled users from the store into the cache.
    /// - Returns: the change log sequence to follow from (read first, so no change is missed).
    @discardableResult
    public static func load(store: any Store, into cache: SessionCache, now: Int64) async throws -> Int64 {
        let latest = try await store.latestChangeSequence()
        let since = cache.currentSequence()
        let sessions = try await store.liveSessions(at: now).compactMap { record, user in
            user.disabled ? nil : CachedSession(record: record, user: user)
        }
        cache.replace(with: sessions, readSince: since)
        return latest
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await performWrites() }
            group.addTask { await followChanges() }
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

    private func followChanges() async {
        var cursor = startSequence
        var lastPurge = clock.now()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                return
            }
            do {
                try await applyChanges(after: &cursor)
                if clock.now() - lastPurge >= Int64(purgeInterval.components.seconds) {
                    lastPurge = clock.now()
                    _ = try await store.purgeExpiredSessions(before: lastPurge)
                    _ = try await store.pruneChanges(keepingLast: changesKept)
                }
            } catch {
                logger.warning("could not read session changes from the store", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Applies every change logged after `cursor`, moving it past each one applied.
    func applyChanges(after cursor: inout Int64) async throws {
        while true {
            switch try await store.changes(after: cursor, limit: Self.changesPerRead) {
            case .fellBehind(let latest):
                logger.notice("the change log no longer holds what this server missed; reading every session again")
                try await Self.load(store: store, into: cache, now: clock.now())
                onReload()
                cursor = latest
                return
            case .changes(let changes):
                for change in changes {
                    try await apply(change)
                    cursor = change.sequence
                }
                if changes.count < Self.changesPerRead { return }
            }
        }
    }

    /// Applies one change to the cache and to what was derived from the user it concerns.
    private func apply(_ change: StoreChange) async throws {
        switch change.kind {
        case .sessionStarted:
            // Made by another server (or before this one saw it): load that one session.
            guard let hash = change.sessionHash, !cache.contains(idHash: hash),
                  let (record, user) = try await store.liveSession(idHash: hash, at: clock.now()), !user.disabled,
                  let session = CachedSession(record: record, user: user) else { return }
            cache.add(session)
        case .sessionEnded:
            if let hash = change.sessionHash { cache.remove(idHash: hash) }
        case .allSessionsEnded:
            cache.removeAll()
        default:
            guard let userID = change.userID else { return }
            if change.kind.changesUser {
                let since = cache.currentSequence()
                let sessions = try await store.liveSessions(userID: userID, at: clock.now()).compactMap { record, user in
                    user.disabled ? nil : CachedSession(record: record, user: user)
                }
                cache.replaceSessions(ofUser: userID, with: sessions, readSince: since)
            }
        }
        if change.kind.changesCredentials, let userID = change.userID { onUserChanged(userID) }
    }
}
