public import PortcullisCore
import Synchronization

/// The live sessions, in memory, readable synchronously from any thread.
///
/// The verify endpoints look every request up here: no `await`, no database. A token is hashed
/// (SHA-256) the first time this process sees it; after that it is found by its own bytes. The table
/// is bounded: past ``capacity`` the longest-idle session is ended to make room.
public final class SessionCache: Sendable {
    /// What happened to a session looked up for a request.
    public enum Use: Sendable, Equatable {
        /// Valid. `touch` is the activity time to write to the store, when one is due.
        case valid(Identity, touch: Int64?, idHash: [UInt8])
        /// It ended now (expired, or used from outside its IP binding); delete it from the store.
        case ended(idHash: [UInt8])
        /// No such session here, or one made for another cookie domain.
        case none
    }

    private struct Table {
        var byHash: [SessionKey: CachedSession] = [:]
        var hashByToken: [SessionKey: SessionKey] = [:]
        var sequence: UInt64 = 0
    }

    private let table = Mutex(Table())
    /// The most sessions kept.
    public let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
    }

    /// How many sessions are live here.
    public var count: Int { table.withLock { $0.byHash.count } }

    /// Looks `token` up and judges it under `policy`; records the activity in memory.
    public func use(_ token: SessionToken, now: Int64, client: IPAddress, cookieDomain: String, policy: SessionPolicy) -> Use {
        guard let tokenKey = SessionKey(token.bytes) else { return .none }
        let known = table.withLock { $0.hashByToken[tokenKey] }
        let hashKey: SessionKey
        if let known {
            hashKey = known
        } else {
            // First sight of this token in this process: one SHA-256, outside the lock.
            guard let computed = SessionKey(token.storageHash) else { return .none }
            hashKey = computed
        }
        return table.withLock { table in
            guard var session = table.byHash[hashKey] else { return .none }
            if known == nil { table.hashByToken[tokenKey] = hashKey }
            switch policy.judge(session.state, persistedActivity: session.persistedActivity, now: now, client: client, cookieDomain: cookieDomain) {
            case .valid(let persist):
                session.state.lastActivity = max(session.state.lastActivity, now)
                if persist { session.persistedActivity = now }
                table.byHash[hashKey] = session
                return .valid(session.identity, touch: persist ? now : nil, idHash: session.idHash)
            case .expired, .ipMismatch:
                table.byHash[hashKey] = nil
                table.hashByToken[tokenKey] = nil
                return .ended(idHash: session.idHash)
            case .wrongDomain:
                return .none
            }
        }
    }

    /// The session for `token`, without judging or touching it.
    public func session(for token: SessionToken) -> CachedSession? {
        guard let hashKey = SessionKey(token.storageHash) else { return nil }
        return table.withLock { $0.byHash[hashKey] }
    }

    /// Adds a session made by this server. Returns the hash of a session evicted to make room, if any.
    @discardableResult
    public func insert(_ session: CachedSession, token: SessionToken) -> [UInt8]? {
        guard let hashKey = SessionKey(session.idHash), let tokenKey = SessionKey(token.bytes) else { return nil }
        return table.withLock { table in
            var evicted: [UInt8]?
            if table.byHash[hashKey] == nil, table.byHash.count >= capacity,
               let idlest = table.byHash.min(by: { $0.value.state.lastActivity < $1.value.state.lastActivity }) {
                table.byHash[idlest.key] = nil
                evicted = idlest.value.idHash
            }
            table.sequence += 1
            var stored = session
            stored.sequence = table.sequence
            table.byHash[hashKey] = stored
            table.hashByToken[tokenKey] = hashKey
            return evicted
        }
    }

    /// Removes the session of `token` (logout) and returns it, if it was here.
    @discardableResult
    public func remove(token: SessionToken) -> CachedSession? {
        guard let tokenKey = SessionKey(token.bytes), let hashKey = SessionKey(token.storageHash) else { return nil }
        return table.withLock { table in
            table.hashByToken[tokenKey] = nil
            return table.byHash.removeValue(forKey: hashKey)
        }
    }

    /// The sequence number before a reload starts reading the store; pass it to ``replace(with:readSince:)``.
    public func currentSequence() -> UInt64 {
        table.withLock { $0.sequence }
    }

    /// Replaces the table with the sessions read from the store, keeping activity newer than the
    /// store's and sessions this server added after `sequence` (the reload did not see them yet).
    public func replace(with sessions: [CachedSession], readSince sequence: UInt64) {
        table.withLock { table in
            var fresh: [SessionKey: CachedSession] = [:]
            fresh.reserveCapacity(min(sessions.count, capacity))
            for var session in sessions.suffix(capacity) {
                guard let key = SessionKey(session.idHash) else { continue }
                if let old = table.byHash[key] {
                    session.state.lastActivity = max(session.state.lastActivity, old.state.lastActivity)
                    session.persistedActivity = max(session.persistedActivity, old.persistedActivity)
                    session.sequence = old.sequence
                }
                fresh[key] = session
            }
            for (key, session) in table.byHash where session.sequence > sequence && fresh[key] == nil {
                fresh[key] = session
            }
            table.hashByToken = table.hashByToken.filter { fresh[$0.value] != nil }
            table.byHash = fresh
        }
    }

    /// Every session, for listing.
    public func all() -> [CachedSession] {
        table.withLock { Array($0.byHash.values) }
    }
}
