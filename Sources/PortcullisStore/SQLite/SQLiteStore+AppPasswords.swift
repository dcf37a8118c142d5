import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    public func addAppPassword(_ record: AppPasswordRecord) async throws -> AppPasswordRecord {
        try await transaction("add an app password") { connection in
            do {
                let rows = try await connection.query(
                    "INSERT INTO app_passwords (user_id, label, hash, created_at, expires_at, auth_level) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    [.int64(record.userID), .text(record.label), .bytes(record.hash), .int64(record.createdAt), record.expiresAt.map { .int64($0) } ?? .null,
                     .integer(record.level.rawValue)])
                var added = record
                added.id = Int64(rows.first?.column("id")?.integer ?? 0)
                try await Self.log(.appPasswordAdded, userID: record.userID, on: connection)
                return added
            } catch where Self.isUniqueViolation(error) {
                throw StoreError(.duplicate, "The user has an app password labelled '\(record.label)' already; remove it first or choose another label.")
            }
        }
    }

    public func appPasswords(ofUserID userID: Int64) async throws -> [AppPasswordRecord] {
        try await exclusive("list app passwords") { connection in
            try await connection.query("SELECT * FROM app_passwords WHERE user_id = ? ORDER BY created_at, id", [.int64(userID)]).map(Self.appPassword(from:))
        }
    }

    public func appPassword(hash: [UInt8]) async throws -> (AppPasswordRecord, UserRecord)? {
        try await exclusive("find an app password") { connection in
            try await connection.query(
                """
                SELECT a.id AS a_id, a.user_id AS a_user_id, a.label AS a_label, a.hash AS a_hash, a.created_at AS a_created_at,
                       a.expires_at AS a_expires_at, a.last_used_at AS a_last_used_at, a.auth_level AS a_auth_level, u.*
                FROM app_passwords a JOIN users u ON u.id = a.user_id WHERE a.hash = ?
                """, [.bytes(hash)]
            ).first.map { row in
                (AppPasswordRecord(id: Int64(row.column("a_id")?.integer ?? 0), userID: Int64(row.column("a_user_id")?.integer ?? 0),
                                   label: row.column("a_label")?.string ?? "", hash: row.column("a_hash")?.bytes ?? [],
                                   createdAt: Int64(row.column("a_created_at")?.integer ?? 0),
                                   expiresAt: row.column("a_expires_at")?.integer.map(Int64.init),
                                   lastUsedAt: row.column("a_last_used_at")?.integer.map(Int64.init),
                                   level: AuthLevel(stored: row.column("a_auth_level")?.integer ?? 0)),
                 Self.user(from: row))
            }
        }
    }

    public func removeAppPassword(userID: Int64, label: String) async throws {
        try await transaction("remove an app password") { connection in
            let rows = try await connection.query("DELETE FROM app_passwords WHERE user_id = ? AND label = ? RETURNING id", [.int64(userID), .text(label)])
            guard !rows.isEmpty else { throw StoreError(.notFound, "The user has no app password labelled '\(label)'; see: portcullis user app-password list NAME") }
            // Running servers forget the user's lingering credentials.
            try await Self.log(.appPasswordRemoved, userID: userID, on: connection)
        }
    }

    public func touchAppPassword(id: Int64, at unixTime: Int64) async throws {
        try await exclusive("record an app password's use") { connection in
            _ = try await connection.query("UPDATE app_passwords SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?", [.int64(unixTime), .int64(id)])
        }
    }

    static func appPassword(from row: SQLiteRow) -> AppPasswordRecord {
        AppPasswordRecord(id: Int64(row.column("id")?.integer ?? 0), userID: Int64(row.column("user_id")?.integer ?? 0), label: row.column("label")?.string ?? "",
                          hash: row.column("hash")?.bytes ?? [], createdAt: Int64(row.column("created_at")?.integer ?? 0),
                          expiresAt: row.column("expires_at")?.integer.map(Int64.init), lastUsedAt: row.column("last_used_at")?.integer.map(Int64.init),
                          level: AuthLevel(stored: row.column("auth_level")?.integer ?? 0))
    }
}
