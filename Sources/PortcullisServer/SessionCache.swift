public import PortcullisCore
import Synchronization

/// The sessions this server used lately, in memory: a bounded cache in front of the store.
///
/// The verify endpoints look every request up here, synchronously: no `await`, no database. A token
/// that is not here is ``Use/unknown``, and the caller reads it from the store once
/// (``Gate/load(_:)``) and adds it; a token the store does not know is remembered as a miss (up to
/// ``missCapacity`` of them), so a stale cookie costs one store read, not one per request.
///
/// At most ``capacity`` sessions are kept. Past it the least recently used one leaves memory in
/// O(1); it stays valid in the store and comes back on its next request, so a full cache never
/// refuses a valid session. Each entry is a fixed-size record without references (about 130
/// bytes, plus two small index entries); the identity headers are kept once per user.
public final class SessionCache: Sendable {
    /// What happened to a session looked up for a request.
    public enum Use: Sendable, Equatable {
        /// Valid, made with the factors of `level`. `touch` is the activity to write to the store,
        /// when one is due.
        case valid(Identity, level: AuthLevel, touch: SessionTouch?)
        /// It ended now (expired, or used from outside its IP binding): delete it from the store.
        case ended(idHash: [UInt8])
        /// Not valid: the store does not know it (a remembered miss), or it was made for another
        /// cookie domain.
        case none
        /// Not in memory: read it from the store.
        case unknown
    }

    private let table: Mutex<SessionTable>
    /// The most sessions kept in memory.
    public let capacity: Int
    /// The most unknown tokens remembered.
    public let missCapacity: Int

    public init(capacity: Int = 100_000, missCapacity: Int = 16_384) {
        self.capacity = max(1, min(capacity, Int(Int32.max / 2)))
        self.missCapacity = max(1, missCapacity)
        table = Mutex(SessionTable(capacity: self.capacity, missCapacity: self.missCapacity))
    }

    /// How many sessions are in memory.
    public var count: Int { table.withLock { $0.count } }

    /// Looks `token` up and judges it under `policy`; records the activity in memory.
    public func use(_ token: SessionToken, now: Int64, client: PackedAddress, cookieDomain: String, policy: SessionPolicy) -> Use {
        guard let tokenKey = SessionKey(token.bytes) else { return .none }
        return table.withLock { table in
            guard let slot = table.slot(token: tokenKey) else { return table.isMiss(tokenKey) ? .none : .unknown }
            let entry = table.entries[Int(slot)]
            let verdict = policy.judge(expiresAt: entry.expiresAt, lastActivity: entry.lastActivity, persistedActivity: entry.persistedActivity,
                                       now: now, sameDomain: table.domains[Int(entry.domain)] == cookieDomain,
                                       clientMatches: entry.client.matches(client, binding: policy.binding))
            switch verdict {
            case .valid(let persist):
                table.entries[Int(slot)].lastActivity = max(entry.lastActivity, now)
                if persist { table.entries[Int(slot)].persistedActivity = now }
                table.markUsed(slot)
                return .valid(table.users[Int(entry.user)].identity, level: entry.level, touch: persist ? SessionTouch(idHash: entry.hash.bytes, at: now) : nil)
            case .expired, .ipMismatch:
                // Until the store's delete is done, the store would still hand it back: remember it as
                // unknown, and keep a read in flight from bringing it back.
                table.noteRemoval(hash: entry.hash, userID: nil)
                table.remove(slot)
                table.rememberMiss(tokenKey)
                return .ended(idHash: entry.hash.bytes)
            case .wrongDomain:
                return .none
            }
        }
    }

    /// Adds a session this server just made. Returns the activity of a session that left memory to
    /// make room, when the store has not heard of it yet.
    @discardableResult
    public func insert(_ session: CachedSession, token: SessionToken) -> SessionTouch? {
        guard let tokenKey = SessionKey(token.bytes), let hashKey = SessionKey(session.idHash) else { return nil }
        return table.withLock { $0.add(session, token: tokenKey, hash: hashKey) }
    }

    /// Adds a session read from the store for `token`, unless something was removed since `sequence`
    /// (read with ``currentSequence()`` before the store was read) that may concern it: then it returns
    /// false and the caller reads again, so a session ended meanwhile never comes back.
    public func load(_ session: CachedSession, token: SessionToken, readSince sequence: UInt64) -> (added: Bool, evicted: SessionTouch?) {
        guard let tokenKey = SessionKey(token.bytes), let hashKey = SessionKey(session.idHash) else { return (false, nil) }
        return table.withLock { table in
            guard !table.removedSince(sequence, hash: hashKey, userID: session.userID) else { return (false, nil) }
            if table.slot(token: tokenKey) != nil { return (true, nil) }
            return (true, table.add(session, token: tokenKey, hash: hashKey))
        }
    }

    /// Remembers that the store has no live session for `token`.
    public func rememberMiss(_ token: SessionToken) {
        guard let tokenKey = SessionKey(token.bytes) else { return }
        table.withLock { $0.rememberMiss(tokenKey) }
    }

    /// Removes the session of `token` (logout) and returns its identity, if it was here.
    @discardableResult
    public func remove(token: SessionToken) -> Identity? {
        guard let tokenKey = SessionKey(token.bytes), let hashKey = SessionKey(token.storageHash) else { return nil }
        return table.withLock { table in
            // Until the store's delete is done, the store would still hand it back.
            table.noteRemoval(hash: hashKey, userID: nil)
            table.rememberMiss(tokenKey)
            guard let slot = table.slot(token: tokenKey) else { return nil }
            let identity = table.users[Int(table.entries[Int(slot)].user)].identity
            table.remove(slot)
            return identity
        }
    }

    /// Removes the session with this hash (it ended elsewhere), if it is here.
    public func remove(idHash: [UInt8]) {
        guard let hashKey = SessionKey(idHash) else { return }
        table.withLock { table in
            table.noteRemoval(hash: hashKey, userID: nil)
            if let slot = table.slot(hash: hashKey) { table.remove(slot) }
        }
    }

    /// Removes every session. Returns the activity the store has not heard of yet.
    @discardableResult
    public func removeAll() -> [SessionTouch] {
        table.withLock { $0.removeAll() }
    }

    /// Whether any session of this user is in memory.
    public func hasSessions(ofUser userID: Int64) -> Bool {
        table.withLock { $0.userSlots[userID] != nil }
    }

    /// Brings one user's sessions in step with the store after the user changed: `identity` is
    /// their identity now, `live` the hashes of their live sessions in the store (nil identity: the
    /// user is gone or disabled). Sessions not live in the store leave memory, unless this server
    /// added them after `sequence` (the store read may not have seen them).
    public func update(user userID: Int64, identity: Identity?, live: Set<[UInt8]>, readSince sequence: UInt64) {
        let liveKeys = Set(live.compactMap(SessionKey.init))
        table.withLock { table in
            guard let userSlot = table.userSlots[userID] else { return }
            if let identity { table.users[Int(userSlot)].identity = identity }
            for slot in table.slots(ofUser: userSlot) {
                let entry = table.entries[Int(slot)]
                if entry.added <= sequence && (identity == nil || !liveKeys.contains(entry.hash)) {
                    table.noteRemoval(hash: entry.hash, userID: userID)
                    table.remove(slot)
                }
            }
        }
    }

    /// The table's sequence, read before a store read whose result goes to ``load(_:token:readSince:)``
    /// or ``update(user:identity:live:readSince:)``.
    public func currentSequence() -> UInt64 {
        table.withLock { $0.sequence }
    }
}

/// Activity of a session to write to the store.
public struct SessionTouch: Sendable, Equatable {
    public init(idHash: [UInt8], at: Int64) {
        self.idHash = idHash
        self.at = at
    }

    /// SHA-256 of the token, as the store keys it.
    public let idHash: [UInt8]
    public let at: Int64
}
