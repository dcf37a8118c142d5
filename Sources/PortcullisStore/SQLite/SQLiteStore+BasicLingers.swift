import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    public func rememberBasicLinger(_ record: BasicLingerRecord) async throws -> Bool {
        try record.checkKey()
        return try await transaction("remember a Basic credential") { connection in
            guard try await Self.userUnchanged(record.userID, after: record.checkedAfter, on: connection) else { return false }
            return try await !connection.query(
                """
                INSERT INTO basic_lingers (key, user_id, app_password_id, auth_level, accepted_at, last_used, expires_at, checked_after)
                SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)
                ON CONFLICT (key) DO UPDATE SET user_id = excluded.user_id, app_password_id = excluded.app_password_id,
                    auth_level = excluded.auth_level, accepted_at = excluded.accepted_at, last_used = excluded.last_used,
                    expires_at = excluded.expires_at, checked_after = excluded.checked_after
                RETURNING 1 AS kept
                """,
                [.bytes(record.key), .int64(record.userID), .optionalInteger(record.appPasswordID), .integer(record.level.rawValue),
                 .int64(record.acceptedAt), .int64(record.lastUsed), .int64(record.expiresAt), .int64(record.checkedAfter), .int64(record.userID)]
            ).isEmpty
        }
    }

    public func basicLinger(key: [UInt8], at unixTime: Int64) async throws -> BasicLingerLookup {
        try await exclusive("find a Basic credential") { connection in
            let latest = try await Self.latestChangeSequence(on: connection)
            guard key.count == BasicLingerRecord.keyLength, let row = try await connection.query(
                """
                SELECT b.key AS b_key, b.user_id AS b_user_id, b.app_password_id AS b_app_password_id, b.auth_level AS b_auth_level,
                       b.accepted_at AS b_accepted_at, b.last_used AS b_last_used, b.expires_at AS b_expires_at, b.checked_after AS b_checked_after, u.*
                FROM basic_lingers b JOIN users u ON u.id = b.user_id WHERE b.key = ? AND b.expires_at > ?
                """, [.bytes(key), .int64(unixTime)]
            ).first else { return BasicLingerLookup(found: nil, latestChange: latest) }
            let record = BasicLingerRecord(
                key: row.column("b_key")?.bytes ?? [], userID: Int64(row.column("b_user_id")?.integer ?? 0),
                appPasswordID: row.column("b_app_password_id").flatMap { $0.isNull ? nil : $0.integer.map(Int64.init) },
                level: AuthLevel(stored: row.column("b_auth_level")?.integer ?? 0), acceptedAt: Int64(row.column("b_accepted_at")?.integer ?? 0),
                lastUsed: Int64(row.column("b_last_used")?.integer ?? 0), expiresAt: Int64(row.column("b_expires_at")?.integer ?? 0),
                checkedAfter: Int64(row.column("b_checked_after")?.integer ?? 0))
            // A record that outlived a change of its user (written by a writer that did not delete it) is worthless.
            guard try await Self.userUnchanged(record.userID, after: record.checkedAfter, on: connection) else {
                return BasicLingerLookup(found: nil, latestChange: latest)
            }
            return BasicLingerLookup(found: (record, Self.user(from: row)), latestChange: latest)
        }
    }

    public func touchBasicLinger(key: [UInt8], at unixTime: Int64) async throws {
        try await exclusive("record a Basic credential's use") { connection in
            _ = try await connection.query("UPDATE basic_lingers SET last_used = MAX(last_used, ?) WHERE key = ?", [.int64(unixTime), .bytes(key)])
        }
    }

    public func purgeBasicLingers(before unixTime: Int64) async throws -> Int {
        try await exclusive("purge expired Basic credentials") { connection in
            try await connection.query("DELETE FROM basic_lingers WHERE expires_at <= ? RETURNING key", [.int64(unixTime)]).count
        }
    }

    /// Whether the change log says nothing of the user's credentials after `sequence` (and still
    /// holds what came after it).
    static func userUnchanged(_ userID: Int64, after sequence: Int64, on connection: SQLiteConnection) async throws -> Bool {
        guard sequence >= (try await prunedThrough(on: connection)) else { return false }
        let kinds = StoreChange.Kind.credentialKinds
        let placeholders = Array(repeating: "?", count: kinds.count).joined(separator: ", ")
        return try await connection.query(
            "SELECT 1 FROM changes WHERE seq > ? AND user_id = ? AND kind IN (\(placeholders)) LIMIT 1",
            [.int64(sequence), .int64(userID)] + kinds.map { .text($0) }).isEmpty
    }

    /// Forgets the user's lingering credentials; called with the change that makes them stale, in its
    /// transaction. Returns how many there were.
    @discardableResult
    static func forgetBasicLingers(ofUser userID: Int64, on connection: SQLiteConnection) async throws -> Int {
        try await connection.query("DELETE FROM basic_lingers WHERE user_id = ? RETURNING key", [.int64(userID)]).count
    }
}
