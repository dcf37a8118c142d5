import PortcullisCore

/// The data of ``SessionCache``, used under its lock: fixed-size entries in one array, found by the
/// first word of the token or of its hash, chained in order of use (for O(1) eviction) and per user.
struct SessionTable {
    /// One cached session. Indexes (`Int32`) point into ``SessionTable/entries`` and
    /// ``SessionTable/users``; -1 is none.
    struct Entry {
        var token: SessionKey
        var hash: SessionKey
        var lastActivity: Int64
        var persistedActivity: Int64
        var expiresAt: Int64
        /// The table's sequence when it was added.
        var added: UInt64
        var client: PackedAddress
        var user: Int32
        var domain: Int32
        var level: AuthLevel
        /// Neighbours in order of use: `older` towards the next to evict. A free entry's `older` is
        /// the next free one.
        var older: Int32 = -1
        var newer: Int32 = -1
        var previousOfUser: Int32 = -1
        var nextOfUser: Int32 = -1
    }

    /// A user with sessions in memory: the identity headers, once.
    struct UserEntry {
        var userID: Int64
        var identity: Identity
        var firstSession: Int32
    }

    /// An explicit removal, kept for a while so a store read that raced with it is not applied.
    struct Removal {
        var sequence: UInt64
        var hash: SessionKey?
        var userID: Int64?
    }

    let capacity: Int
    let missCapacity: Int
    var entries: [Entry] = []
    var freeEntry: Int32 = -1
    var byToken: [UInt64: Int32] = [:]
    var byHash: [UInt64: Int32] = [:]
    var newest: Int32 = -1
    var oldest: Int32 = -1
    private(set) var count = 0

    var users: [UserEntry] = []
    var freeUsers: [Int32] = []
    var userSlots: [Int64: Int32] = [:]
    /// Cookie domains, interned: few, from the configuration.
    var domains: [String] = []

    var misses: Set<SessionKey> = []
    var missOrder: [SessionKey] = []
    var missNext = 0

    var sequence: UInt64 = 0
    var removals: [Removal] = []
    var removalNext = 0
    static let removalsKept = 4096
    /// When everything was removed last.
    var allRemovedAt: UInt64 = 0

    init(capacity: Int, missCapacity: Int) {
        self.capacity = capacity
        self.missCapacity = missCapacity
    }

    // MARK: Finding

    func slot(token: SessionKey) -> Int32? {
        guard let slot = byToken[token.words.0], entries[Int(slot)].token == token else { return nil }
        return slot
    }

    func slot(hash: SessionKey) -> Int32? {
        guard let slot = byHash[hash.words.0], entries[Int(slot)].hash == hash else { return nil }
        return slot
    }

    /// The sessions of a user entry.
    func slots(ofUser user: Int32) -> [Int32] {
        var result: [Int32] = []
        var slot = users[Int(user)].firstSession
        while slot >= 0 {
            result.append(slot)
            slot = entries[Int(slot)].nextOfUser
        }
        return result
    }

    // MARK: Adding and removing

    /// Adds a session; evicts the least recently used one when full and returns its unwritten activity.
    mutating func add(_ session: CachedSession, token: SessionKey, hash: SessionKey) -> SessionTouch? {
        // The same session again, or a first-word collision (two live tokens sharing 64 bits, which
        // leaves the older one to the store).
        for other in [slot(hash: hash), byToken[token.words.0], byHash[hash.words.0]] {
            if let other, byToken[entries[Int(other)].token.words.0] == other { remove(other) }
        }
        var evicted: SessionTouch?
        if count >= capacity, oldest >= 0 {
            let victim = entries[Int(oldest)]
            if victim.lastActivity > victim.persistedActivity { evicted = SessionTouch(idHash: victim.hash.bytes, at: victim.lastActivity) }
            remove(oldest)
        }
        sequence += 1
        let user = userEntry(session.userID, identity: session.identity)
        let first = users[Int(user)].firstSession
        let entry = Entry(token: token, hash: hash, lastActivity: session.lastActivity, persistedActivity: session.persistedActivity,
                          expiresAt: session.expiresAt, added: sequence, client: session.client,
                          user: user, domain: domainIndex(session.cookieDomain), level: session.level, nextOfUser: first)
        let slot: Int32
        if freeEntry >= 0 {
            slot = freeEntry
            freeEntry = entries[Int(slot)].older
            entries[Int(slot)] = entry
        } else {
            slot = Int32(entries.count)
            // Grown by doubling, but never past the capacity: a full cache wastes no entries.
            if entries.count == entries.capacity { entries.reserveCapacity(min(capacity, max(64, entries.count * 2))) }
            entries.append(entry)
        }
        byToken[token.words.0] = slot
        byHash[hash.words.0] = slot
        linkNewest(slot)
        if first >= 0 { entries[Int(first)].previousOfUser = slot }
        users[Int(user)].firstSession = slot
        count += 1
        return evicted
    }

    mutating func remove(_ slot: Int32) {
        let entry = entries[Int(slot)]
        byToken[entry.token.words.0] = nil
        byHash[entry.hash.words.0] = nil
        unlink(slot)
        if entry.previousOfUser >= 0 {
            entries[Int(entry.previousOfUser)].nextOfUser = entry.nextOfUser
        } else {
            users[Int(entry.user)].firstSession = entry.nextOfUser
        }
        if entry.nextOfUser >= 0 { entries[Int(entry.nextOfUser)].previousOfUser = entry.previousOfUser }
        if users[Int(entry.user)].firstSession < 0 {
            userSlots[users[Int(entry.user)].userID] = nil
            users[Int(entry.user)].identity = Identity(user: "", groups: [], name: "", email: "")
            freeUsers.append(entry.user)
        }
        entries[Int(slot)].older = freeEntry
        entries[Int(slot)].newer = -1
        entries[Int(slot)].previousOfUser = -1
        entries[Int(slot)].nextOfUser = -1
        freeEntry = slot
        count -= 1
    }

    mutating func removeAll() -> [SessionTouch] {
        let touches = entries.indices.compactMap { index -> SessionTouch? in
            let entry = entries[index]
            guard byToken[entry.token.words.0] == Int32(index), entry.lastActivity > entry.persistedActivity else { return nil }
            return SessionTouch(idHash: entry.hash.bytes, at: entry.lastActivity)
        }
        entries = []
        freeEntry = -1
        byToken = [:]
        byHash = [:]
        newest = -1
        oldest = -1
        count = 0
        users = []
        freeUsers = []
        userSlots = [:]
        sequence += 1
        allRemovedAt = sequence
        return touches
    }

    // MARK: Order of use

    mutating func markUsed(_ slot: Int32) {
        guard newest != slot else { return }
        unlink(slot)
        linkNewest(slot)
    }

    private mutating func linkNewest(_ slot: Int32) {
        entries[Int(slot)].older = newest
        entries[Int(slot)].newer = -1
        if newest >= 0 { entries[Int(newest)].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }

    private mutating func unlink(_ slot: Int32) {
        let entry = entries[Int(slot)]
        if entry.newer >= 0 { entries[Int(entry.newer)].older = entry.older } else { newest = entry.older }
        if entry.older >= 0 { entries[Int(entry.older)].newer = entry.newer } else { oldest = entry.newer }
    }

    // MARK: Users and domains

    private mutating func userEntry(_ userID: Int64, identity: Identity) -> Int32 {
        if let existing = userSlots[userID] {
            users[Int(existing)].identity = identity
            return existing
        }
        let entry = UserEntry(userID: userID, identity: identity, firstSession: -1)
        let index: Int32
        if let free = freeUsers.popLast() {
            index = free
            users[Int(index)] = entry
        } else {
            index = Int32(users.count)
            users.append(entry)
        }
        userSlots[userID] = index
        return index
    }

    private mutating func domainIndex(_ domain: String) -> Int32 {
        if let index = domains.firstIndex(of: domain) { return Int32(index) }
        domains.append(domain)
        return Int32(domains.count - 1)
    }

    // MARK: Misses

    func isMiss(_ token: SessionKey) -> Bool { misses.contains(token) }

    mutating func rememberMiss(_ token: SessionKey) {
        guard misses.insert(token).inserted else { return }
        if missOrder.count < missCapacity {
            missOrder.append(token)
        } else {
            misses.remove(missOrder[missNext])
            missOrder[missNext] = token
            missNext = (missNext + 1) % missCapacity
        }
    }

    // MARK: Removals a store read may have raced with

    mutating func noteRemoval(hash: SessionKey?, userID: Int64?) {
        sequence += 1
        let removal = Removal(sequence: sequence, hash: hash, userID: userID)
        if removals.count < Self.removalsKept {
            removals.append(removal)
        } else {
            removals[removalNext] = removal
            removalNext = (removalNext + 1) % Self.removalsKept
        }
    }

    /// Whether a removal after `since` may concern this session (or too many happened to tell).
    func removedSince(_ since: UInt64, hash: SessionKey, userID: Int64) -> Bool {
        if allRemovedAt > since { return true }
        var checked = 0
        var index = (removalNext - 1 + removals.count) % max(removals.count, 1)
        while checked < removals.count {
            let removal = removals[index]
            if removal.sequence <= since { return false }
            if removal.hash == hash || removal.userID == userID { return true }
            checked += 1
            index = (index - 1 + removals.count) % removals.count
        }
        // Every kept removal is newer than `since`: older ones were overwritten, so it cannot tell.
        return removals.count == Self.removalsKept
    }
}
