public import PortcullisCore

/// An HTTP Basic credential accepted recently, shared by every instance on one store so that a
/// client whose requests a proxy spreads over them keeps working without a new code.
///
/// Keyed by an HMAC of the `Authorization` header (and, with `basic.logout_on_ip_change`, the
/// client's address) under a shared key kept sealed in the store; the credential itself is never
/// stored. A change of the user's record, devices or app passwords deletes the user's records in
/// the transaction that logs it.
public struct BasicLingerRecord: Sendable, Equatable {
    /// The HMAC (32 bytes).
    public var key: [UInt8]
    public var userID: Int64
    /// Set when the credential was an app password.
    public var appPasswordID: Int64?
    /// The factors the credential stands for.
    public var level: AuthLevel
    public var acceptedAt: Int64
    /// The last use recorded (instances record uses now and then, not each one).
    public var lastUsed: Int64
    /// When it stops lingering, whatever the instance reading it is configured with.
    public var expiresAt: Int64
    /// The change log sequence read before the credential was checked: a change of the user logged
    /// after it makes the record worthless (it is neither kept nor read).
    public var checkedAfter: Int64

    public init(key: [UInt8], userID: Int64, appPasswordID: Int64?, level: AuthLevel, acceptedAt: Int64, lastUsed: Int64, expiresAt: Int64,
                checkedAfter: Int64) {
        self.key = key
        self.userID = userID
        self.appPasswordID = appPasswordID
        self.level = level
        self.acceptedAt = acceptedAt
        self.lastUsed = lastUsed
        self.expiresAt = expiresAt
        self.checkedAfter = checkedAfter
    }

    /// The length of ``key``.
    public static let keyLength = 32

    /// Throws ``StoreError/Code/invalidInput`` for a key of another length (every backend checks before writing).
    package func checkKey() throws {
        guard key.count == Self.keyLength else {
            throw StoreError(.invalidInput, "A lingering credential's key has \(Self.keyLength) bytes; \(key.count) were given.")
        }
    }
}

/// What the store holds for a lingering credential's key, and where its change log stands.
public struct BasicLingerLookup: Sendable {
    /// The record and its user, when it lingers.
    public var found: (record: BasicLingerRecord, user: UserRecord)?
    /// The change log's latest sequence, read with it: what a check made next is checked after.
    public var latestChange: Int64

    public init(found: (record: BasicLingerRecord, user: UserRecord)?, latestChange: Int64) {
        self.found = found
        self.latestChange = latestChange
    }
}

/// Lingering HTTP Basic credentials, shared by the instances on one store.
public protocol BasicLingerStore: Sendable {
    /// Keeps `record` (replacing one with its key) unless the user's record, devices or app
    /// passwords changed after its ``BasicLingerRecord/checkedAfter`` sequence, or the log no longer
    /// says (pruned past it), or the user is gone. Returns whether it was kept.
    func rememberBasicLinger(_ record: BasicLingerRecord) async throws -> Bool
    /// The record with this key and its user, when it has not expired at `unixTime` and nothing of
    /// the user changed since it was checked; with the change log's latest sequence, in one read.
    func basicLinger(key: [UInt8], at unixTime: Int64) async throws -> BasicLingerLookup
    /// Records a use of the credential (the later time is kept).
    func touchBasicLinger(key: [UInt8], at unixTime: Int64) async throws
    /// Deletes records expired before `unixTime`. Returns how many went.
    func purgeBasicLingers(before unixTime: Int64) async throws -> Int
}

extension StoreChange.Kind {
    /// The kinds after which a credential accepted earlier is checked again, as the store keeps them.
    package static var credentialKinds: [String] { allCases.filter(\.changesCredentials).map(\.rawValue) }
}
