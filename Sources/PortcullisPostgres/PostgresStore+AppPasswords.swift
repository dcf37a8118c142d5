import PortcullisCore
public import PortcullisStore
import PostgresNIO

extension PostgresStore {
    public func addAppPassword(_ record: AppPasswordRecord) async throws -> AppPasswordRecord {
        try await transaction("add an app password") { database in
            do {
                let row = try await database.row(
                    """
                    INSERT INTO app_passwords (user_id, label, hash, created_at, expires_at, auth_level)
                    VALUES (\(record.userID), \(record.label), \(bytea(record.hash)), \(record.createdAt), \(record.expiresAt), \(record.level.rawValue))
                    RETURNING id
                    """)
                var added = record
                added.id = try row?.int64("id") ?? 0
                try await Self.log(.appPasswordAdded, userID: record.userID, on: database)
                return added
            } catch where Self.isUniqueViolation(error) {
                throw StoreError(.duplicate, "The user has an app password labelled '\(record.label)' already; remove it first or choose another label.")
            }
        }
    }

    public func appPasswords(ofUserID userID: Int64) async throws -> [AppPasswordRecord] {
        try await exclusive("list app passwords") { database in
            try await database.rows("SELECT * FROM app_passwords WHERE user_id = \(userID) ORDER BY created_at, id").map { try Self.appPassword(from: $0) }
        }
    }

    public func appPassword(hash: [UInt8]) async throws -> (AppPasswordRecord, UserRecord)? {
        try await exclusive("find an app password") { database in
            try await database.row(
                """
                SELECT a.id AS a_id, a.user_id AS a_user_id, a.label AS a_label, a.hash AS a_hash, a.created_at AS a_created_at,
                       a.expires_at AS a_expires_at, a.last_used_at AS a_last_used_at, a.auth_level AS a_auth_level, u.*
                FROM app_passwords a JOIN users u ON u.id = a.user_id WHERE a.hash = \(bytea(hash))
                """).map { (try Self.appPassword(from: $0, prefix: "a_"), try Self.user(from: $0)) }
        }
    }

    public func removeAppPassword(userID: Int64, label: String) async throws {
        try await transaction("remove an app password") { database in
            guard try await database.row("DELETE FROM app_passwords WHERE user_id = \(userID) AND label_key = portcullis_fold(\(storable(label))) RETURNING id") != nil else {
                throw StoreError(.notFound, "The user has no app password labelled '\(label)'; see: portcullis user app-password list NAME")
            }
            // Running servers forget the user's lingering credentials.
            try await Self.log(.appPasswordRemoved, userID: userID, on: database)
        }
    }

    public func touchAppPassword(id: Int64, at unixTime: Int64) async throws {
        try await exclusive("record an app password's use") { database in
            try await database.execute("UPDATE app_passwords SET last_used_at = GREATEST(COALESCE(last_used_at, 0), \(unixTime)) WHERE id = \(id)")
        }
    }

    static func appPassword(from row: PostgresRandomAccessRow, prefix: String = "") throws -> AppPasswordRecord {
        AppPasswordRecord(id: try row.int64(prefix + "id"), userID: try row.int64(prefix + "user_id"), label: try row.string(prefix + "label"),
                          hash: try row.bytes(prefix + "hash"), createdAt: try row.int64(prefix + "created_at"),
                          expiresAt: try row.optionalInt64(prefix + "expires_at"), lastUsedAt: try row.optionalInt64(prefix + "last_used_at"),
                          level: AuthLevel(stored: try row.int(prefix + "auth_level")))
    }
}
