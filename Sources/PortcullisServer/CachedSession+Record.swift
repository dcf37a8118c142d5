import PortcullisCore
import PortcullisStore

extension CachedSession {
    /// The cache entry for a stored session of `user`; nil when the stored address is unreadable.
    init?(record: SessionRecord, user: UserRecord) {
        guard let address = IPAddress(record.clientIP) else { return nil }
        self.init(
            state: SessionState(userName: user.name, createdAt: record.createdAt, lastActivity: record.lastActivity,
                                expiresAt: record.expiresAt, clientIP: address, cookieDomain: record.cookieDomain),
            identity: Identity(user: user.name, groups: user.groups, name: user.displayName, email: user.email),
            userID: user.id, persistedActivity: record.lastActivity, idHash: record.idHash
        )
    }
}
