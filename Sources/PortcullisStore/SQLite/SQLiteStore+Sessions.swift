import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    public func createSession(_ session: SessionRecord) async throws {
        try await transaction("create a session") { connection in
            _ = try await connection.query(
                """
                INSERT INTO sessions (id_hash, user_id, created_at, last_activity, expires_at, client_ip, auth_level, remember_me, cookie_domain)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.bytes(session.idHash), .int64(session.userID), .int64(session.createdAt), .int64(session.lastActivity),
                 .int64(session.expiresAt), .text(session.clientIP), .integer(session.authLevel),
                 .integer(session.rememberMe ? 1 : 0), .text(session.cookieDomain)]
            )
            try await Self.log(.sessionStarted, userID: session.userID, sessionHash: session.idHash, on: connection)
        }
    }

    /// Live sessions with their users, matching `condition` (on `s`, the session) as well.
    private func liveSessions(at unixTime: Int64, where condition: String, _ values: [SQLiteData]) async throws -> [(SessionRecord, UserRecord)] {
        try await exclusive("read sessions") { connection in
            try await connection.query(
                """
                SELECT s.id_hash, s.user_id, s.created_at AS s_created_at, s.last_activity, s.expires_at, s.client_ip,
                       s.auth_level, s.remember_me, s.cookie_domain, u.*
                FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.expires_at > ? AND \(condition) ORDER BY s.created_at, s.rowid
                """,
                [.int64(unixTime)] + values
            ).map { row in (Self.session(from: row), Self.user(from: row)) }
        }
    }

    public func liveSessions(at unixTime: Int64) async throws -> [(SessionRecord, UserRecord)] {
        try await liveSessions(at: unixTime, where: "1", [])
    }

    public func liveSessionCount(at unixTime: Int64) async throws -> Int {
        try await exclusive("count sessions") { connection in
            try await connection.query("SELECT COUNT(*) AS n FROM sessions WHERE expires_at > ?", [.int64(unixTime)]).first?.column("n")?.integer ?? 0
        }
    }

    public func liveSessions(userID: Int64, at unixTime: Int64) async throws -> [(SessionRecord, UserRecord)] {
        try await liveSessions(at: unixTime, where: "s.user_id = ?", [.int64(userID)])
    }

    public func liveSession(idHash: [UInt8], at unixTime: Int64) async throws -> (SessionRecord, UserRecord)? {
        try await liveSessions(at: unixTime, where: "s.id_hash = ?", [.bytes(idHash)]).first
    }

    public func touchSession(idHash: [UInt8], lastActivity: Int64) async throws {
        try await exclusive("record session activity") { connection in
            _ = try await connection.query("UPDATE sessions SET last_activity = MAX(last_activity, ?) WHERE id_hash = ?",
                                           [.int64(lastActivity), .bytes(idHash)])
        }
    }

    public func touchSessions(_ touches: [(idHash: [UInt8], lastActivity: Int64)]) async throws {
        try await transaction("record the activity of many sessions") { connection in
            for touch in touches {
                _ = try await connection.query("UPDATE sessions SET last_activity = MAX(last_activity, ?) WHERE id_hash = ?",
                                               [.int64(touch.lastActivity), .bytes(touch.idHash)])
            }
        }
    }

    public func deleteSession(idHash: [UInt8]) async throws -> Bool {
        try await transaction("end a session") { connection in
            guard let row = try await connection.query("DELETE FROM sessions WHERE id_hash = ? RETURNING user_id", [.bytes(idHash)]).first else {
                return false
            }
            try await Self.log(.sessionEnded, userID: Int64(row.column("user_id")?.integer ?? 0), sessionHash: idHash, on: connection)
            return true
        }
    }

    public func deleteSession(shortIDPrefix prefix: String) async throws -> Int {
        let prefix = prefix.lowercased()
        guard prefix.count >= 6, prefix.count <= 64, prefix.allSatisfy({ $0.isHexDigit }) else {
            throw StoreError(.invalidInput, "A session id prefix is 6 to 64 hex digits, as `portcullis session list` shows them.")
        }
        return try await transaction("end a session") { connection in
            let matches = try await connection.query("SELECT id_hash, user_id FROM sessions WHERE lower(hex(id_hash)) LIKE ?", [.text(prefix + "%")])
            guard matches.count == 1, let hash = matches[0].column("id_hash")?.bytes else {
                if matches.isEmpty { throw StoreError(.notFound, "No session id starts with \(prefix); see: portcullis session list") }
                throw StoreError(.invalidInput, "\(matches.count) sessions start with \(prefix); give more digits.")
            }
            _ = try await connection.query("DELETE FROM sessions WHERE id_hash = ?", [.bytes(hash)])
            try await Self.log(.sessionEnded, userID: Int64(matches[0].column("user_id")?.integer ?? 0), sessionHash: hash, on: connection)
            return 1
        }
    }

    public func deleteSessions(userID: Int64) async throws -> Int {
        try await transaction("end a user's sessions") { connection in
            let ended = try await Self.endSessions(userID: userID, on: connection)
            // Their lingering Basic credentials end too, on every instance.
            if try await Self.forgetBasicLingers(ofUser: userID, on: connection) > 0 {
                try await Self.log(.basicCredentialsEnded, userID: userID, on: connection)
            }
            return ended
        }
    }

    /// Deletes a user's sessions, logging each one's end. Returns how many there were.
    /// Ends the user's sessions (only those of `level`, when given), logging each one's end.
    static func endSessions(userID: Int64, level: AuthLevel? = nil, on connection: SQLiteConnection) async throws -> Int {
        let rows = if let level {
            try await connection.query("DELETE FROM sessions WHERE user_id = ? AND auth_level = ? RETURNING id_hash", [.int64(userID), .integer(level.rawValue)])
        } else {
            try await connection.query("DELETE FROM sessions WHERE user_id = ? RETURNING id_hash", [.int64(userID)])
        }
        for row in rows {
            try await log(.sessionEnded, userID: userID, sessionHash: row.column("id_hash")?.bytes ?? [], on: connection)
        }
        return rows.count
    }

    public func deleteAllSessions() async throws -> Int {
        try await transaction("end all sessions") { connection in
            let rows = try await connection.query("DELETE FROM sessions RETURNING user_id")
            let lingers = try await connection.query("DELETE FROM basic_lingers RETURNING key")
            if !rows.isEmpty || !lingers.isEmpty { try await Self.log(.allSessionsEnded, userID: nil, on: connection) }
            return rows.count
        }
    }

    public func purgeExpiredSessions(before unixTime: Int64) async throws -> Int {
        try await transaction("remove expired sessions") { connection in
            let rows = try await connection.query("DELETE FROM sessions WHERE expires_at <= ? RETURNING id_hash, user_id", [.int64(unixTime)])
            // Every server then forgets them too, also those no request will judge again.
            for row in rows {
                try await Self.log(.sessionEnded, userID: Int64(row.column("user_id")?.integer ?? 0), sessionHash: row.column("id_hash")?.bytes ?? [], on: connection)
            }
            return rows.count
        }
    }

    static func session(from row: SQLiteRow) -> SessionRecord {
        SessionRecord(
            idHash: row.column("id_hash")?.bytes ?? [],
            userID: Int64(row.column("user_id")?.integer ?? 0),
            createdAt: Int64(row.column("s_created_at")?.integer ?? 0),
            lastActivity: Int64(row.column("last_activity")?.integer ?? 0),
            expiresAt: Int64(row.column("expires_at")?.integer ?? 0),
            clientIP: row.column("client_ip")?.string ?? "",
            authLevel: row.column("auth_level")?.integer ?? 0,
            rememberMe: (row.column("remember_me")?.integer ?? 0) != 0,
            cookieDomain: row.column("cookie_domain")?.string ?? ""
        )
    }
}
