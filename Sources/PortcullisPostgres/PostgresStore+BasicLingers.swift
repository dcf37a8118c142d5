import PortcullisCore
public import PortcullisStore
import PostgresNIO

extension PostgresStore {
    public func rememberBasicLinger(_ record: BasicLingerRecord) async throws -> Bool {
        try record.checkKey()
        // Under the write lock: a change of the user commits either before this reads the log (and the
        // credential is not kept) or after this commits (and its transaction deletes the record).
        return try await transaction("remember a Basic credential") { database in
            guard try await Self.userUnchanged(record.userID, after: record.checkedAfter, on: database) else { return false }
            return try await database.row(
                """
                INSERT INTO basic_lingers (key, user_id, app_password_id, auth_level, accepted_at, last_used, expires_at, checked_after)
                SELECT \(bytea(record.key)), \(record.userID), \(record.appPasswordID), \(record.level.rawValue), \(record.acceptedAt),
                       \(record.lastUsed), \(record.expiresAt), \(record.checkedAfter)
                WHERE EXISTS (SELECT 1 FROM users WHERE id = \(record.userID))
                ON CONFLICT (key) DO UPDATE SET user_id = excluded.user_id, app_password_id = excluded.app_password_id,
                    auth_level = excluded.auth_level, accepted_at = excluded.accepted_at, last_used = excluded.last_used,
                    expires_at = excluded.expires_at, checked_after = excluded.checked_after
                RETURNING 1 AS kept
                """) != nil
        }
    }

    public func basicLinger(key: [UInt8], at unixTime: Int64) async throws -> BasicLingerLookup {
        try await exclusive("find a Basic credential") { database in
            // One snapshot for the reads, so a change and a prune between them cannot be missed.
            try await database.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                let lookup = try await Self.basicLinger(key: key, at: unixTime, on: database)
                try await database.execute("COMMIT")
                return lookup
            } catch {
                try? await database.execute("ROLLBACK")
                throw error
            }
        }
    }

    private static func basicLinger(key: [UInt8], at unixTime: Int64, on database: Database) async throws -> BasicLingerLookup {
        let latest = try await latestChangeSequence(on: database)
        guard key.count == BasicLingerRecord.keyLength, let row = try await database.row(
            """
            SELECT b.key AS b_key, b.user_id AS b_user_id, b.app_password_id AS b_app_password_id, b.auth_level AS b_auth_level,
                   b.accepted_at AS b_accepted_at, b.last_used AS b_last_used, b.expires_at AS b_expires_at, b.checked_after AS b_checked_after, u.*
            FROM basic_lingers b JOIN users u ON u.id = b.user_id WHERE b.key = \(bytea(key)) AND b.expires_at > \(unixTime)
            """) else { return BasicLingerLookup(found: nil, latestChange: latest) }
        let record = BasicLingerRecord(
            key: try row.bytes("b_key"), userID: try row.int64("b_user_id"), appPasswordID: try row.optionalInt64("b_app_password_id"),
            level: AuthLevel(stored: try row.int("b_auth_level")), acceptedAt: try row.int64("b_accepted_at"), lastUsed: try row.int64("b_last_used"),
            expiresAt: try row.int64("b_expires_at"), checkedAfter: try row.int64("b_checked_after"))
        // A record that outlived a change of its user (written by a writer that did not delete it) is worthless.
        guard try await userUnchanged(record.userID, after: record.checkedAfter, on: database) else {
            return BasicLingerLookup(found: nil, latestChange: latest)
        }
        return BasicLingerLookup(found: (record, try user(from: row)), latestChange: latest)
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

    /// Whether the change log says nothing of the user's credentials after `sequence` (and still
    /// holds what came after it).
    static func userUnchanged(_ userID: Int64, after sequence: Int64, on database: Database) async throws -> Bool {
        guard sequence >= (try await prunedThrough(on: database)) else { return false }
        return try await database.row(
            "SELECT 1 FROM changes WHERE seq > \(sequence) AND user_id = \(userID) AND kind = ANY(\(StoreChange.Kind.credentialKinds)) LIMIT 1") == nil
    }

    /// Forgets the user's lingering credentials; called with the change that makes them stale, in its
    /// transaction. Returns how many there were.
    @discardableResult
    static func forgetBasicLingers(ofUser userID: Int64, on database: Database) async throws -> Int {
        try await database.rows("DELETE FROM basic_lingers WHERE user_id = \(userID) RETURNING user_id").count
    }
}
