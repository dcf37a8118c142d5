import PortcullisCore
public import PortcullisStore
import PostgresNIO

extension PostgresStore {
    public func rememberBasicLinger(_ record: BasicLingerRecord, unlessUserChangedAfter sequence: Int64) async throws -> Bool {
        try record.checkKey()
        // Under the write lock: a change of the user commits either before this reads the log (and the
        // credential is not kept) or after this commits (and its transaction deletes the record).
        return try await transaction("remember a Basic credential") { database in
            // The log no longer says what happened after `sequence`: the credential is not kept.
            guard sequence >= (try await Self.prunedThrough(on: database)) else { return false }
            let changed = try await database.row(
                "SELECT 1 FROM changes WHERE seq > \(sequence) AND user_id = \(record.userID) AND kind = ANY(\(StoreChange.Kind.credentialKinds)) LIMIT 1")
            guard changed == nil else { return false }
            return try await database.row(
                """
                INSERT INTO basic_lingers (key, user_id, app_password_id, auth_level, accepted_at, last_used, expires_at)
                SELECT \(bytea(record.key)), \(record.userID), \(record.appPasswordID), \(record.level.rawValue), \(record.acceptedAt),
                       \(record.lastUsed), \(record.expiresAt)
                WHERE EXISTS (SELECT 1 FROM users WHERE id = \(record.userID))
                ON CONFLICT (key) DO UPDATE SET user_id = excluded.user_id, app_password_id = excluded.app_password_id,
                    auth_level = excluded.auth_level, accepted_at = excluded.accepted_at, last_used = excluded.last_used, expires_at = excluded.expires_at
                RETURNING 1 AS kept
                """) != nil
        }
    }

    public func basicLinger(key: [UInt8], at unixTime: Int64) async throws -> (BasicLingerRecord, UserRecord)? {
        guard key.count == BasicLingerRecord.keyLength else { return nil }
        return try await exclusive("find a Basic credential") { database in
            try await database.row(
                """
                SELECT b.key AS b_key, b.user_id AS b_user_id, b.app_password_id AS b_app_password_id, b.auth_level AS b_auth_level,
                       b.accepted_at AS b_accepted_at, b.last_used AS b_last_used, b.expires_at AS b_expires_at, u.*
                FROM basic_lingers b JOIN users u ON u.id = b.user_id WHERE b.key = \(bytea(key)) AND b.expires_at > \(unixTime)
                """
            ).map { row in
                (BasicLingerRecord(key: try row.bytes("b_key"), userID: try row.int64("b_user_id"), appPasswordID: try row.optionalInt64("b_app_password_id"),
                                   level: AuthLevel(stored: try row.int("b_auth_level")), acceptedAt: try row.int64("b_accepted_at"),
                                   lastUsed: try row.int64("b_last_used"), expiresAt: try row.int64("b_expires_at")),
                 try Self.user(from: row))
            }
        }
    }

    public func touchBasicLinger(key: [UInt8], at unixTime: Int64) async throws {
        try await exclusive("record a Basic credential's use") { database in
            try await database.execute("UPDATE basic_lingers SET last_used = GREATEST(last_used, \(unixTime)) WHERE key = \(bytea(key))")
        }
    }

    public func purgeBasicLingers(before unixTime: Int64) async throws -> Int {
        try await exclusive("purge expired Basic credentials") { database in
            try await database.rows("DELETE FROM basic_lingers WHERE expires_at <= \(unixTime) RETURNING user_id").count
        }
    }

    /// Forgets the user's lingering credentials; called with the change that makes them stale, in its transaction.
    static func forgetBasicLingers(ofUser userID: Int64, on database: Database) async throws {
        try await database.execute("DELETE FROM basic_lingers WHERE user_id = \(userID)")
    }
}
