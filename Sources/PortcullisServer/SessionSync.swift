public import Logging
import PortcullisCore
public import PortcullisStore
public import ServiceLifecycle

/// Keeps the in-memory sessions and the store in step, in the background:
/// - performs the writes the verify path enqueued (activity, ended sessions, uses of lingering
///   Basic credentials);
/// - follows the store's change log (a logout elsewhere, `portcullis session revoke`, a user
///   changed or removed, a device or app password added or removed) within ``pollInterval``,
///   applying each change to what depends on it only; when this server fell behind the pruned log,
///   it forgets every cached session (each is read again on its next request);
/// - deletes sessions past their absolute expiry, and prunes the change log, now and then.
///
/// Store reads happen outside the cache's lock; the cache then takes small deltas under it.
public struct SessionSync: Service {
    let store: any SessionStore & ChangeLogStore & AppPasswordStore & BasicLingerStore
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
    /// After a signal, how long to let more changes come before reading them all at once (a burst
    /// of logins elsewhere costs one read, not one per login).
    static let signalCoalescing: Duration = .milliseconds(20)
    /// Called with a user whose record, devices or app passwords changed: forget what was checked
    /// against them (lingering Basic credentials).
    var onUserChanged: @Sendable (Int64) -> Void = { _ in }
    /// Called when every session ended at once (`session revoke --all`): forget every lingering Basic credential.
    var onAllSessionsEnded: @Sendable () -> Void = {}
    /// Called after everything was read again (what changed is unknown: forget everything derived).
    var onReload: @Sendable () -> Void = {}
    /// Called when the store's secrets were re-encrypted under a new storage key.
    var onStorageKeyChanged: @Sendable () async -> Void = {}
    /// Called after each reading of the change log.
    var afterPoll: @Sendable () async -> Void = {}
    /// Told of every good reading of the change log, and watched every second: without one for a
    /// while, the store is out (nil: not tracked).
    public var outage: StoreOutage?
    /// The monotonic clock the outage is timed with (tests set their own).
    public var monotonicNow: @Sendable () -> Int64 = { StoreOutage.monotonicNow() }

    /// - Parameter sequence: what ``startingSequence(store:)`` returned.
    public init(store: any SessionStore & ChangeLogStore & AppPasswordStore & BasicLingerStore, cache: SessionCache, writes: SessionWrites, clock: GateClock, logger: Logger, changesAfter sequence: Int64) {
        self.store = store
        self.cache = cache
        self.writes = writes
        self.clock = clock
        self.logger = logger
        self.startSequence = sequence
    }

    /// Where a server starting now follows the change log from. The cache starts empty: sessions
    /// are read from the store when their tokens are first seen.
    public static func startingSequence(store: any ChangeLogStore) async throws -> Int64 {
        try await store.latestChangeSequence()
    }

    /// Follows the change log and performs the queued writes until the server stops. Services
    /// stop in reverse order, so by the time this one is asked to, the HTTP server has finished its
    /// requests: the queue is closed, the writes left in it are performed, then the activity only
    /// memory knows is written in batches — before this returns, within the server's shutdown bound.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await performWrites() }
            group.addTask { await watchOutage() }
            // Returns at shutdown (or cancellation). Only then is the queue closed: following the
            // log may itself queue writes (a reload of the cache hands back its unwritten activity).
            await followChanges()
            writes.finish()
            await group.waitForAll()
        }
        await writeActivityFromMemory()
    }

    /// Sessions used since their last recorded activity, written 1 000 to a transaction.
    func writeActivityFromMemory() async {
        let touches = cache.removeAll().map { (idHash: $0.idHash, lastActivity: $0.at) }
        var written = 0
        while written < touches.count, !Task.isCancelled {
            let batch = Array(touches[written..<min(written + Self.activityBatch, touches.count)])
            do {
                try await store.touchSessions(batch)
            } catch {
                logger.warning("could not write the last activity of \(touches.count - written) sessions before stopping", metadata: ["error": "\(error)"])
                return
            }
            written += batch.count
        }
        if written < touches.count {
            logger.warning("stopped before writing the last activity of \(touches.count - written) of \(touches.count) sessions (the shutdown took too long)")
        } else if written > 0 {
            logger.info("wrote the last activity of \(written) sessions")
        }
    }

    static let activityBatch = 1000

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
                case .basicLingerUsed(let key, let time):
                    try await store.touchBasicLinger(key: key, at: time)
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
                try await cancelWhenGracefulShutdown {
                    if let signal = store.changeSignal {
                        // Woken as another instance commits a change; the poll stays as the fallback
                        // for a notification lost (a reconnection).
                        await signal.wait(upTo: pollInterval)
                        try Task.checkCancellation()
                        try await Task.sleep(for: Self.signalCoalescing)
                    } else {
                        try await Task.sleep(for: pollInterval)
                    }
                }
            } catch {
                return
            }
            do {
                try await applyChanges(after: &cursor)
            } catch {
                // Once per outage at warning level; the outage itself is logged by the watchdog.
                if outage?.isOut == true {
                    logger.debug("could not read session changes from the store", metadata: ["error": "\(error)"])
                } else {
                    logger.warning("could not read session changes from the store", metadata: ["error": "\(error)"])
                }
                continue
            }
            if let outage, let ended = outage.polled(at: monotonicNow()) { log(ended, grace: outage.grace) }
            await afterPoll()
            if clock.now() - lastPurge >= Int64(purgeInterval.components.seconds) {
                lastPurge = clock.now()
                do {
                    _ = try await store.purgeExpiredSessions(before: lastPurge)
                    _ = try await store.pruneChanges(keepingLast: changesKept)
                } catch {
                    logger.warning("could not purge expired sessions or prune the change log", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Every second, whether the change log was read lately (a read that hangs counts as much as one
    /// that fails); logs an outage's beginning, the end of its grace and its end once each.
    private func watchOutage() async {
        guard let outage else { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            } catch {
                return
            }
            if let transition = outage.evaluate(at: monotonicNow()) { log(transition, grace: outage.grace) }
        }
    }

    private func log(_ transition: StoreOutage.Transition, grace: Int64) {
        switch transition {
        case .began(let seconds):
            logger.error("the store has not answered for \(seconds) s: logouts and revocations elsewhere cannot reach this instance; sessions in memory keep verifying for \(grace) s more (storage.outage_grace)")
        case .graceOver(let seconds):
            logger.error("the store has not answered for \(seconds) s, longer than storage.outage_grace: each session and lingering Basic credential is confirmed by the store until it answers")
        case .ended(let seconds):
            logger.notice("the store answers again after \(seconds) s; sessions in memory verify as before")
        }
    }

    /// Applies every change logged after `cursor`, moving it past each one applied.
    func applyChanges(after cursor: inout Int64) async throws {
        while true {
            switch try await store.changes(after: cursor, limit: Self.changesPerRead) {
            case .fellBehind(let latest):
                logger.notice("the change log no longer holds what this server missed; forgetting every cached session")
                for touch in cache.removeAll() { writes.enqueue(.touch(idHash: touch.idHash, at: touch.at)) }
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
            // Read from the store when its token is first seen here.
            break
        case .sessionEnded:
            if let hash = change.sessionHash { cache.remove(idHash: hash) }
        case .allSessionsEnded:
            cache.removeAll()
            onAllSessionsEnded()
        case .storageKeyChanged:
            await onStorageKeyChanged()
        default:
            guard let userID = change.userID, change.kind.changesUser, cache.hasSessions(ofUser: userID) else { break }
            let since = cache.currentSequence()
            let live = try await store.liveSessions(userID: userID, at: clock.now())
            let user = live.first.map(\.1).flatMap { $0.disabled ? nil : $0 }
            cache.update(user: userID, identity: user.map(Identity.init),
                         live: Set(live.map(\.0.idHash)), readSince: since)
        }
        if change.kind.changesCredentials, let userID = change.userID { onUserChanged(userID) }
    }
}
