public import PortcullisCore

/// A live session as the verify endpoints need it, on its way into the ``SessionCache``: when it
/// ends, where from and for which cookie domain it may be used, and whose it is.
public struct CachedSession: Sendable, Equatable {
    public var identity: Identity
    public var userID: Int64
    public var lastActivity: Int64
    /// The last activity written to the store; activity is written at most once per tenth of the
    /// inactivity window.
    public var persistedActivity: Int64
    /// The absolute end: creation plus `session.expiration` (or `session.remember_me`).
    public var expiresAt: Int64
    /// The address it was made from (for `session.ip_binding`).
    public var client: PackedAddress
    /// The cookie domain it was made for.
    public var cookieDomain: String
    /// SHA-256 of the token, as the store keeps it.
    public let idHash: [UInt8]
    /// The factors it was made with.
    public var level: AuthLevel

    public init(identity: Identity, userID: Int64, lastActivity: Int64, persistedActivity: Int64, expiresAt: Int64,
                client: PackedAddress, cookieDomain: String, idHash: [UInt8], level: AuthLevel) {
        self.identity = identity
        self.userID = userID
        self.lastActivity = lastActivity
        self.persistedActivity = persistedActivity
        self.expiresAt = expiresAt
        self.client = client
        self.cookieDomain = cookieDomain
        self.idHash = idHash
        self.level = level
    }
}
