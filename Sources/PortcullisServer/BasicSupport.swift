import Logging
import PortcullisCore
import PortcullisStore

/// What the verify endpoints need for HTTP Basic: the settings, the lingering credentials (in
/// memory, and in the store for the other instances) and the slow check.
struct BasicSupport: Sendable {
    let settings: BasicAuthConfiguration
    let cache: BasicLingerCache
    let gate: BasicGate
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
        guard let (identity, level, recordUse) = cache.use(key, now: now) else { return nil }
        if let recordUse {
            writes.enqueue(.basicLingerUsed(key: key.bytes, at: now))
            if let id = recordUse.appPasswordID { writes.enqueue(.appPasswordUsed(id: id, at: now)) }
        }
        return (identity, level)
    }

    /// The identity of a credential another instance accepted (or this one, before a restart), read
    /// from the store and then kept in memory; nil when it does not linger there.
    func sharedLingeringIdentity(_ key: SessionKey, now: Int64, writes: SessionWrites) async throws -> (identity: Identity, level: AuthLevel)? {
        guard let (record, user) = try await store.basicLinger(key: key.bytes, at: now), !user.disabled else { return nil }
        // Gone idle here, and no use elsewhere since: idle. A use elsewhere is recorded late by up to
        // the record interval, which the check allows for.
        let usedHere = cache.lastUse(of: key)
        let usedElsewhere = record.lastUsed > (usedHere ?? .min)
        guard cache.lingers(acceptedAt: record.acceptedAt, lastUsed: max(record.lastUsed, usedHere ?? .min), now: now, usedElsewhere: usedElsewhere)
        else { return nil }
        let identity = Identity(user)
        cache.insert(key, identity: identity, level: record.level, userID: user.id, appPasswordID: record.appPasswordID,
                     acceptedAt: record.acceptedAt, lastUsed: now, lastRecorded: record.lastUsed)
        return lingeringIdentity(key, now: now, writes: writes)
    }

    /// Remembers a credential this instance has just accepted: in the store, for the other instances,
    /// unless the user changed after change log sequence `sequence` (read before the check), and in
    /// memory. When the store cannot keep it, it lingers on this instance only.
    func remember(_ key: SessionKey, identity: Identity, level: AuthLevel, userID: Int64, appPasswordID: Int64?, now: Int64,
                  checkedAfter sequence: Int64) async {
        let record = BasicLingerRecord(key: key.bytes, userID: userID, appPasswordID: appPasswordID, level: level, acceptedAt: now,
                                       lastUsed: now, expiresAt: now.addingSaturating(settings.linger))
        do {
            // Changed meanwhile: what was checked is stale, so the credential does not linger anywhere.
            guard try await store.rememberBasicLinger(record, unlessUserChangedAfter: sequence) else { return }
        } catch {
            logger.warning("could not share a lingering Basic credential with the other instances; it lingers on this one only",
                           metadata: ["error": "\(error)"])
        }
        cache.insert(key, identity: identity, level: level, userID: userID, appPasswordID: appPasswordID, acceptedAt: now, lastUsed: now)
    }

    /// The `WWW-Authenticate` challenge.
    var challenge: String { "Basic realm=\"\(settings.realm)\", charset=\"UTF-8\"" }
}
