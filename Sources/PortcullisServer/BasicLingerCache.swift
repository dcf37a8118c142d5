import Crypto
public import PortcullisCore
import Synchronization

/// Basic credentials accepted recently, so a client can resend them on every request without a
/// password hash each time (mod_authn_otp's "linger").
///
/// Entries are keyed by an HMAC — under a key that lives only in this process's memory — of the
/// `Authorization` header exactly as the client sent it and (with `basic.logout_on_ip_change`) the
/// client's address; the credential itself is never kept. A hit therefore needs no parsing: the same
/// header bytes were checked when the entry was made. Bounded: past ``capacity`` the oldest entry
/// goes. Indexed by user, so that a change of one user forgets only that user's credentials.
public final class BasicLingerCache: Sendable {
    struct Entry: Sendable {
        var identity: Identity
        /// The factors the credential stands for.
        var level: AuthLevel
        var userID: Int64
        var acceptedAt: Int64
        var lastUsed: Int64
        /// Set for app passwords, whose last use is recorded.
        var appPasswordID: Int64?
        var lastRecorded: Int64
    }

    struct Table {
        var entries: [SessionKey: Entry] = [:]
        var keysByUser: [Int64: Set<SessionKey>] = [:]

        mutating func remove(_ key: SessionKey) {
            guard let entry = entries.removeValue(forKey: key) else { return }
            if keysByUser[entry.userID]?.remove(key) != nil, keysByUser[entry.userID]?.isEmpty == true {
                keysByUser[entry.userID] = nil
            }
        }
    }

    private let table = Mutex(Table())
    /// HMAC-SHA256 with the process's key already applied: each use copies it instead of keying anew.
    private let keyedMAC: HMAC<SHA256>
    let settings: BasicAuthConfiguration
    public let capacity: Int
    /// An app password's last use is written at most this often.
    static let useRecordInterval: Int64 = 60

    /// A cache with a fresh random HMAC key.
    public init(settings: BasicAuthConfiguration, capacity: Int = 100_000) {
        self.settings = settings
        self.capacity = max(1, capacity)
        self.keyedMAC = HMAC<SHA256>(key: SymmetricKey(size: .bits256))
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

    /// The identity and level of a credential still lingering at `now`, and an app password use to
    /// record, if due.
    func use(_ key: SessionKey, now: Int64) -> (identity: Identity, level: AuthLevel, recordUse: Int64?)? {
        table.withLock { table in
            guard var entry = table.entries[key] else { return nil }
            let lingering = now < entry.acceptedAt + settings.linger && (settings.idle == 0 || now < entry.lastUsed + settings.idle)
            guard lingering else {
                table.remove(key)
                return nil
            }
            entry.lastUsed = max(entry.lastUsed, now)
            var recordUse: Int64?
            if let id = entry.appPasswordID, now - entry.lastRecorded >= Self.useRecordInterval {
                entry.lastRecorded = now
                recordUse = id
            }
            table.entries[key] = entry
            return (entry.identity, entry.level, recordUse)
        }
    }

    /// Remembers an accepted credential of user `userID`.
    func insert(_ key: SessionKey, identity: Identity, level: AuthLevel, userID: Int64, appPasswordID: Int64?, now: Int64) {
        table.withLock { table in
            if table.entries[key] == nil, table.entries.count >= capacity,
               let oldest = table.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                table.remove(oldest.key)
            }
            table.remove(key)
            table.entries[key] = Entry(identity: identity, level: level, userID: userID, acceptedAt: now, lastUsed: now, appPasswordID: appPasswordID, lastRecorded: now)
            table.keysByUser[userID, default: []].insert(key)
        }
    }

    /// Forgets every lingering credential of one user (the user, their devices or app passwords
    /// changed); costs the number of that user's credentials.
    func removeAll(ofUser userID: Int64) {
        table.withLock { table in
            for key in table.keysByUser.removeValue(forKey: userID) ?? [] { table.entries[key] = nil }
        }
    }

    /// Forgets every lingering credential (after a full reload, when what changed is unknown).
    func removeAll() {
        table.withLock { $0 = Table() }
    }

    public var count: Int { table.withLock { $0.entries.count } }
}
