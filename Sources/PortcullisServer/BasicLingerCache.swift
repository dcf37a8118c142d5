import Crypto
public import PortcullisCore
import Synchronization

/// Basic credentials accepted recently, so a client can resend them on every request without a
/// password hash each time (mod_authn_otp's "linger").
///
/// Entries are keyed by an HMAC — under a key the instances on one store share (``SharedKey/basicLinger``)
/// — of the `Authorization` header exactly as the client sent it and (with `basic.logout_on_ip_change`)
/// the client's address; the credential itself is never kept. A hit therefore needs no parsing: the
/// same header bytes were checked when the entry was made. The same key names the credential's
/// ``BasicLingerRecord`` in the store, through which another instance learns of it. Bounded: past
/// ``capacity`` the oldest entry goes. Indexed by user, so that a change of one user forgets only
/// that user's credentials.
public final class BasicLingerCache: Sendable {
    struct Entry: Sendable {
        var identity: Identity
        /// The factors the credential stands for.
        var level: AuthLevel
        var userID: Int64
        var acceptedAt: Int64
        /// The end its store record names (an instance with a longer `basic.linger` keeps to it).
        var expiresAt: Int64
        var lastUsed: Int64
        /// Set for app passwords, whose last use is recorded.
        var appPasswordID: Int64?
        /// The last use written to the store (the credential's record, and the app password's).
        var lastRecorded: Int64
    }

    struct Table {
        var entries: [SessionKey: Entry] = [:]
        var keysByUser: [Int64: Set<SessionKey>] = [:]
        /// Counts removals; a reader notes it before its store read or check (``generation``).
        var generation: UInt64 = 0
        /// The generation of each user's last removal, and of the last removal of everything: an
        /// insert whose reading began before either is stale.
        var userRemovedAt: [Int64: UInt64] = [:]
        var allRemovedAt: UInt64 = 0

        mutating func remove(_ key: SessionKey) {
            guard let entry = entries.removeValue(forKey: key) else { return }
            if keysByUser[entry.userID]?.remove(key) != nil, keysByUser[entry.userID]?.isEmpty == true {
                keysByUser[entry.userID] = nil
            }
        }

        func isStale(userID: Int64, readSince: UInt64) -> Bool {
            allRemovedAt > readSince || (userRemovedAt[userID] ?? 0) > readSince
        }
    }

    /// A use of a lingering credential to write to the store.
    struct RecordedUse: Equatable {
        /// The app password used, if the credential is one.
        var appPasswordID: Int64?
    }

    private let table = Mutex(Table())
    /// HMAC-SHA256 with the shared key already applied: each use copies it instead of keying anew.
    private let keyedMAC: HMAC<SHA256>
    let settings: BasicAuthConfiguration
    public let capacity: Int
    /// Whether the key is the instances' shared one: only then do records in the store mean anything.
    public let isShared: Bool
    /// The most users whose removals are remembered one by one; past it, any earlier reading is stale.
    static let removalsKept = 10_000

    /// A cache keyed with `key` (the instances' shared key), or with a fresh random key when nil
    /// (credentials then linger on this instance only).
    public init(settings: BasicAuthConfiguration, key: [UInt8]? = nil, capacity: Int = 100_000) {
        self.settings = settings
        self.capacity = max(1, capacity)
        self.keyedMAC = HMAC<SHA256>(key: key.map { SymmetricKey(data: $0) } ?? SymmetricKey(size: .bits256))
        self.isShared = key != nil
    }

    /// How often a lingering credential's use is written to the store: often enough that another
    /// instance judges `basic.idle` from it within this much, at most once a minute.
    var useRecordInterval: Int64 {
        settings.idle > 0 ? min(60, max(1, settings.idle / 4)) : 60
    }

    /// Whether a credential accepted at `acceptedAt` and last used at `lastUsed` still lingers at `now`.
    /// `usedElsewhere`: the last use is the one the store knows, which may be up to
    /// ``useRecordInterval`` behind the instance that used it last.
    func lingers(acceptedAt: Int64, lastUsed: Int64, now: Int64, usedElsewhere: Bool = false) -> Bool {
        let idleBound = settings.idle + (usedElsewhere ? useRecordInterval : 0)
        // Saturating: a record read from the store may hold any time.
        return now < acceptedAt.addingSaturating(settings.linger) && (settings.idle == 0 || now < lastUsed.addingSaturating(idleBound))
    }

    /// The table key for the `Authorization` header a client sent; nil for a header longer than any
    /// credential read (``BasicCredentials/maximumHeaderLength``), which is never remembered.
    public func key(forHeader header: String, client: IPAddress) -> SessionKey? {
        guard header.utf8.count <= BasicCredentials.maximumHeaderLength else { return nil }
        var mac = keyedMAC
        // The address first, with its length, so that no header and address run into each other.
        let address = settings.logoutOnIPChange ? client.bytes : []
        withUnsafeBytes(of: UInt8(address.count)) { mac.update(data: $0) }
        mac.update(data: address)
        var header = header
        header.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
        return mac.finalize().withUnsafeBytes { SessionKey($0) }
    }

    /// The identity and level of a credential still lingering at `now`, and a use to record in the
    /// store, if due (with `basic.idle`, for other instances to judge by; for an app password, its last use).
    func use(_ key: SessionKey, now: Int64) -> (identity: Identity, level: AuthLevel, recordUse: RecordedUse?)? {
        let interval = useRecordInterval
        let recordsUses = settings.idle > 0
        return table.withLock { table in
            guard var entry = table.entries[key] else { return nil }
            guard now < min(entry.expiresAt, entry.acceptedAt.addingSaturating(settings.linger)) else {
                table.remove(key)
                return nil
            }
            // Idle here: kept, so that a use the store knows of is judged against the last one here.
            guard lingers(acceptedAt: entry.acceptedAt, lastUsed: entry.lastUsed, now: now) else { return nil }
            entry.lastUsed = max(entry.lastUsed, now)
            var recordUse: RecordedUse?
            if recordsUses || entry.appPasswordID != nil, now.subtractingSaturating(entry.lastRecorded) >= interval {
                entry.lastRecorded = now
                recordUse = RecordedUse(appPasswordID: entry.appPasswordID)
            }
            table.entries[key] = entry
            return (entry.identity, entry.level, recordUse)
        }
    }

    /// Forgets one credential (the store no longer has it).
    func forget(_ key: SessionKey) {
        table.withLock { $0.remove(key) }
    }

    /// The last use of a credential on this instance, also when it has gone idle here.
    func lastUse(of key: SessionKey) -> Int64? {
        table.withLock { $0.entries[key]?.lastUsed }
    }

    /// Where removals stand: note it before a store read or a check whose result is then inserted.
    var generation: UInt64 { table.withLock { $0.generation } }

    /// Remembers a credential of user `userID` accepted at `acceptedAt` (here, or by another
    /// instance), lingering until `expiresAt` at most, last used at `lastUsed`. Refused (returns
    /// false) when the user's credentials were forgotten after `readSince` (``generation``, noted
    /// before what this insert is based on was read): the change would otherwise be lost.
    /// - Parameter lastRecorded: the last use the store knows, when older than `lastUsed`.
    @discardableResult
    func insert(_ key: SessionKey, identity: Identity, level: AuthLevel, userID: Int64, appPasswordID: Int64?, acceptedAt: Int64, expiresAt: Int64? = nil,
                lastUsed: Int64, lastRecorded: Int64? = nil, readSince: UInt64) -> Bool {
        table.withLock { table in
            guard !table.isStale(userID: userID, readSince: readSince) else { return false }
            if table.entries[key] == nil, table.entries.count >= capacity,
               let oldest = table.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                table.remove(oldest.key)
            }
            table.remove(key)
            table.entries[key] = Entry(identity: identity, level: level, userID: userID, acceptedAt: acceptedAt,
                                       expiresAt: expiresAt ?? acceptedAt.addingSaturating(settings.linger), lastUsed: lastUsed,
                                       appPasswordID: appPasswordID, lastRecorded: min(lastRecorded ?? lastUsed, lastUsed))
            table.keysByUser[userID, default: []].insert(key)
            return true
        }
    }

    /// Forgets every lingering credential of one user (the user, their devices or app passwords
    /// changed); costs the number of that user's credentials.
    func removeAll(ofUser userID: Int64) {
        table.withLock { table in
            for key in table.keysByUser.removeValue(forKey: userID) ?? [] { table.entries[key] = nil }
            table.generation &+= 1
            if table.userRemovedAt.count >= Self.removalsKept {
                // Too many to remember one by one: every reading begun before now is stale.
                table.userRemovedAt = [:]
                table.allRemovedAt = table.generation
            } else {
                table.userRemovedAt[userID] = table.generation
            }
        }
    }

    /// Forgets every lingering credential (after a full reload, when what changed is unknown).
    func removeAll() {
        table.withLock { table in
            let generation = table.generation &+ 1
            table = Table()
            table.generation = generation
            table.allRemovedAt = generation
        }
    }

    public var count: Int { table.withLock { $0.entries.count } }
}
