import PortcullisCore
import PortcullisStore

extension CachedSession {
    /// The cache entry for a stored session of `user`; nil when the stored address is unreadable.
    init?(record: SessionRecord, user: UserRecord) {
        guard let address = IPAddress(record.clientIP) else { return nil }
        self.init(identity: Identity(user),
                  userID: user.id, lastActivity: record.lastActivity, persistedActivity: record.lastActivity,
                  expiresAt: record.expiresAt, client: PackedAddress(address), cookieDomain: record.cookieDomain, idHash: record.idHash,
                  level: AuthLevel(stored: record.authLevel))
    }
}
