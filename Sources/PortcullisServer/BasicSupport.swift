import Logging
import PortcullisCore
import PortcullisStore

/// What the verify endpoints need for HTTP Basic: the settings, the lingering credentials (in
/// memory, and in the store for the other instances) and the slow check.
struct BasicSupport: Sendable {
    let settings: BasicAuthConfiguration
    let cache: BasicLingerCache
    let gate: BasicGate
    /// Past `storage.outage_grace` without the store, credentials in memory need the store.
    let outage: StoreOutage
    let logger: Logger

    /// Where lingering credentials are shared, and the change log that says whether one may be kept.
    var store: any Store { gate.store }

    /// Whether Basic is accepted for a cookie domain.
    func isEnabled(for cookie: SessionCookieConfiguration) -> Bool {
        cookie.basic ?? settings.enabled
    }

    /// The identity of a credential lingering in memory (accepted recently), recording its use when
    /// one is due; nil when the store or the slow check must say.
    func lingeringIdentity(_ key: SessionKey, now: Int64, writes: SessionWrites) -> (identity: Identity, level: AuthLevel)? {
        // Past the outage grace, the store confirms every credential (storedLinger).
        guard outage.trustsMemory else { return nil }
        return fromMemory(key, now: now, writes: writes)
    }

    private func fromMemory(_ key: SessionKey, now: Int64, writes: SessionWrites) -> (identity: Identity, level: AuthLevel)? {
        guard let (identity, level, recordUse) = cache.use(key, now: now) else { return nil }
        if let recordUse {
            if cache.isShared && settings.idle > 0 { writes.enqueue(.basicLingerUsed(key: key.bytes, at: now)) }
            if let id = recordUse.appPasswordID { writes.enqueue(.appPasswordUsed(id: id, at: now)) }
        }
        return (identity, level)
    }

    /// What the store says of a credential memory does not vouch for.
    enum StoredLinger {
        /// Accepted by another instance (or this one, before a restart), and now kept in memory too.
        case lingering(Identity, AuthLevel)
        /// Not lingering: it must be checked, after this change log sequence (nil: not shared).
        case check(after: Int64?)
    }

    /// Looks for a credential another instance accepted (or this one, before a restart) in the
    /// store, and keeps it in memory when it lingers.
    func storedLinger(_ key: SessionKey, now: Int64, writes: SessionWrites) async throws -> StoredLinger {
        // Under a random key (the shared one could not be read) no record can be found.
        guard cache.isShared else { return .check(after: nil) }
        var latest: Int64 = 0
        // Read again when a change of the user was applied meanwhile, which may have made the read stale.
        for _ in 0..<2 {
            let readSince = cache.generation
            let lookup = try await store.basicLinger(key: key.bytes, at: now)
            latest = lookup.latestChange
            guard let (record, user) = lookup.found, !user.disabled else {
                // Past the outage grace, the store's answer replaces what memory held.
                if !outage.trustsMemory { cache.forget(key) }
                return .check(after: latest)
            }
            // Times from the store are bounded by now: no record lingers past what it could have been given.
            let acceptedAt = min(record.acceptedAt, now)
            let lastUsed = min(max(record.lastUsed, acceptedAt), now)
            // Gone idle here, and no use elsewhere since: idle. A use elsewhere is recorded late by up to
            // the record interval, which the check allows for.
            let usedHere = cache.lastUse(of: key)
            let usedElsewhere = lastUsed > (usedHere ?? .min)
            guard cache.lingers(acceptedAt: acceptedAt, lastUsed: max(lastUsed, usedHere ?? .min), now: now, usedElsewhere: usedElsewhere) else {
                return .check(after: latest)
            }
            let identity = Identity(user)
            guard cache.insert(key, identity: identity, level: record.level, userID: user.id, appPasswordID: record.appPasswordID, acceptedAt: acceptedAt,
                               expiresAt: record.expiresAt, lastUsed: now, lastRecorded: lastUsed, readSince: readSince) else { continue }
            if let (identity, level) = fromMemory(key, now: now, writes: writes) { return .lingering(identity, level) }
            return .check(after: latest)
        }
        return .check(after: latest)
    }

    /// Remembers a credential this instance has just accepted: in the store, for the other instances,
    /// unless the user changed after change log sequence `sequence` (read before the check), and in
    /// memory unless the user's credentials were forgotten here since `readSince`. When the store
    /// cannot keep it, it lingers on this instance only.
    func remember(_ key: SessionKey, identity: Identity, level: AuthLevel, userID: Int64, appPasswordID: Int64?, now: Int64,
                  checkedAfter sequence: Int64?, readSince: UInt64) async {
        if let sequence {
            let record = BasicLingerRecord(key: key.bytes, userID: userID, appPasswordID: appPasswordID, level: level, acceptedAt: now,
                                           lastUsed: now, expiresAt: now.addingSaturating(settings.linger), checkedAfter: sequence)
            do {
                // Changed meanwhile: what was checked is stale, so the credential does not linger anywhere.
                guard try await store.rememberBasicLinger(record) else { return }
            } catch {
                logger.warning("could not share a lingering Basic credential with the other instances; it lingers on this one only",
                               metadata: ["error": "\(error)"])
            }
        }
        cache.insert(key, identity: identity, level: level, userID: userID, appPasswordID: appPasswordID, acceptedAt: now, lastUsed: now,
                     readSince: readSince)
    }

    /// The `WWW-Authenticate` challenge.
    var challenge: String { "Basic realm=\"\(settings.realm)\", charset=\"UTF-8\"" }
}
