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
        /// The hashes of each user's sessions, so a user's change touches only theirs.
        var hashesByUser: [Int64: Set<SessionKey>] = [:]
        var sequence: UInt64 = 0

        mutating func put(_ session: CachedSession, at key: SessionKey) {
            if let old = byHash.updateValue(session, forKey: key), old.userID != session.userID {
                hashesByUser[old.userID]?.remove(key)
            }
            hashesByUser[session.userID, default: []].insert(key)
        }

        @discardableResult
        mutating func remove(_ key: SessionKey) -> CachedSession? {
            guard let session = byHash.removeValue(forKey: key) else { return nil }
            if let token = session.tokenKey { hashByToken[token] = nil }
            if hashesByUser[session.userID]?.remove(key) != nil, hashesByUser[session.userID]?.isEmpty == true {
                hashesByUser[session.userID] = nil
            }
            return session
        }
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
            if known == nil {
                table.hashByToken[tokenKey] = hashKey
                session.tokenKey = tokenKey
                table.byHash[hashKey] = session
            }
            switch policy.judge(session.state, persistedActivity: session.persistedActivity, now: now, client: client, cookieDomain: cookieDomain) {
            case .valid(let persist):
                session.state.lastActivity = max(session.state.lastActivity, now)
                if persist { session.persistedActivity = now }
                table.byHash[hashKey] = session
                return .valid(session.identity, touch: persist ? now : nil, idHash: session.idHash)
            case .expired, .ipMismatch:
                table.remove(hashKey)
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

    /// Whether the session with this hash is here.
    public func contains(idHash: [UInt8]) -> Bool {
        guard let hashKey = SessionKey(idHash) else { return false }
        return table.withLock { $0.byHash[hashKey] != nil }
    }

    /// Adds a session made by this server. Returns the hash of a session evicted to make room, if any.
    @discardableResult
    public func insert(_ session: CachedSession, token: SessionToken) -> [UInt8]? {
        guard let hashKey = SessionKey(session.idHash), let tokenKey = SessionKey(token.bytes) else { return nil }
        return table.withLock { table in
            var evicted: [UInt8]?
            if table.byHash[hashKey] == nil, table.byHash.count >= capacity,
               let idlest = table.byHash.min(by: { $0.value.state.lastActivity < $1.value.state.lastActivity }) {
                evicted = table.remove(idlest.key)?.idHash
            }
            table.sequence += 1
            var stored = session
            stored.sequence = table.sequence
            stored.tokenKey = tokenKey
            table.put(stored, at: hashKey)
            table.hashByToken[tokenKey] = hashKey
            return evicted
        }
    }

    /// Adds a session read from the store (made by another server) unless it is here already or the
    /// table is full.
    public func add(_ session: CachedSession) {
        guard let hashKey = SessionKey(session.idHash) else { return }
        table.withLock { table in
            guard table.byHash[hashKey] == nil, table.byHash.count < capacity else { return }
            var stored = session
            stored.tokenKey = nil
            table.put(stored, at: hashKey)
        }
    }

    /// Removes the session of `token` (logout) and returns it, if it was here.
    @discardableResult
    public func remove(token: SessionToken) -> CachedSession? {
        guard let tokenKey = SessionKey(token.bytes), let hashKey = SessionKey(token.storageHash) else { return nil }
        return table.withLock { table in
            table.hashByToken[tokenKey] = nil
            return table.remove(hashKey)
        }
    }

    /// Removes the session with this hash (it ended elsewhere), if it is here.
    public func remove(idHash: [UInt8]) {
        guard let hashKey = SessionKey(idHash) else { return }
        table.withLock { _ = $0.remove(hashKey) }
    }

    /// Removes every session (all were ended).
    public func removeAll() {
        table.withLock { table in
            table.byHash.removeAll()
            table.hashByToken.removeAll()
            table.hashesByUser.removeAll()
        }
    }

    /// Replaces one user's sessions with `sessions` read from the store (their user changed),
    /// keeping activity newer than the store's and sessions this server added after `sequence`.
    /// Costs the number of that user's sessions, whatever the size of the table.
    public func replaceSessions(ofUser userID: Int64, with sessions: [CachedSession], readSince sequence: UInt64) {
        table.withLock { table in
            var previous: [SessionKey: CachedSession] = [:]
            for key in table.hashesByUser[userID] ?? [] {
                if let session = table.remove(key) { previous[key] = session }
            }
            for var session in sessions where session.userID == userID {
                guard let key = SessionKey(session.idHash), table.byHash[key] == nil else { continue }
                if let old = previous.removeValue(forKey: key) {
                    session.merge(activityOf: old)
                    if let token = old.tokenKey { table.hashByToken[token] = key }
                } else if table.byHash.count >= capacity {
                    continue
                }
                table.put(session, at: key)
            }
            // Sessions this server made after the read started: the read may not have seen them.
            for (key, session) in previous where session.sequence > sequence {
                table.put(session, at: key)
                if let token = session.tokenKey { table.hashByToken[token] = key }
            }
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
            var fresh = Table()
            fresh.sequence = table.sequence
            fresh.byHash.reserveCapacity(min(sessions.count, capacity))
            for var session in sessions.suffix(capacity) {
                guard let key = SessionKey(session.idHash) else { continue }
                if let old = table.byHash[key] { session.merge(activityOf: old) }
                fresh.put(session, at: key)
            }
            for (key, session) in table.byHash where session.sequence > sequence && fresh.byHash[key] == nil {
                fresh.put(session, at: key)
            }
            fresh.hashByToken = table.hashByToken.filter { fresh.byHash[$0.value] != nil }
            table = fresh
        }
    }

    /// Every session, for listing.
    public func all() -> [CachedSession] {
        table.withLock { Array($0.byHash.values) }
    }
}
