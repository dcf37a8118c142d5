import PortcullisCore
public import PortcullisStore
import PostgresNIO

extension PostgresStore {
    public func createSession(_ session: SessionRecord) async throws {
        try await transaction("create a session") { database in
            try await database.execute(
                """
                INSERT INTO sessions (id_hash, user_id, created_at, last_activity, expires_at, client_ip, auth_level, remember_me, cookie_domain)
                VALUES (\(bytea(session.idHash)), \(session.userID), \(session.createdAt), \(session.lastActivity), \(session.expiresAt),
                        \(storable(session.clientIP)), \(session.authLevel), \(session.rememberMe), \(session.cookieDomain))
                """)
            try await Self.log(.sessionStarted, userID: session.userID, sessionHash: session.idHash, on: database)
        }
    }

    /// The columns of a session joined with its user (`s`, `u`).
    private static let sessionColumns = """
        SELECT s.id_hash, s.user_id, s.created_at AS s_created_at, s.last_activity, s.expires_at, s.client_ip,
               s.auth_level, s.remember_me, s.cookie_domain, u.*
        FROM sessions s JOIN users u ON u.id = s.user_id
        """

    public func liveSessions(at unixTime: Int64) async throws -> [(SessionRecord, UserRecord)] {
        try await exclusive("read sessions") { database in
            try await database.rows("\(unescaped: Self.sessionColumns) WHERE s.expires_at > \(unixTime) ORDER BY s.created_at, s.added")
                .map { (try Self.session(from: $0), try Self.user(from: $0)) }
        }
    }

    public func liveSessionCount(at unixTime: Int64) async throws -> Int {
        try await exclusive("count sessions") { database in
            try await database.row("SELECT COUNT(*) AS n FROM sessions WHERE expires_at > \(unixTime)")?.int("n") ?? 0
        }
    }

    public func liveSessions(userID: Int64, at unixTime: Int64) async throws -> [(SessionRecord, UserRecord)] {
        try await exclusive("read sessions") { database in
            try await database.rows(
                "\(unescaped: Self.sessionColumns) WHERE s.expires_at > \(unixTime) AND s.user_id = \(userID) ORDER BY s.created_at, s.added")
                .map { (try Self.session(from: $0), try Self.user(from: $0)) }
        }
    }

    public func liveSession(idHash: [UInt8], at unixTime: Int64) async throws -> (SessionRecord, UserRecord)? {
        try await exclusive("read sessions") { database in
            try await database.row("\(unescaped: Self.sessionColumns) WHERE s.expires_at > \(unixTime) AND s.id_hash = \(bytea(idHash))")
                .map { (try Self.session(from: $0), try Self.user(from: $0)) }
        }
    }

    public func touchSession(idHash: [UInt8], lastActivity: Int64) async throws {
        try await exclusive("record session activity") { database in
            try await database.execute(
                "UPDATE sessions SET last_activity = GREATEST(last_activity, \(lastActivity)) WHERE id_hash = \(bytea(idHash))")
        }
    }

    public func touchSessions(_ touches: [(idHash: [UInt8], lastActivity: Int64)]) async throws {
        guard !touches.isEmpty else { return }
        // One statement for the whole batch; the rows are locked in one order, so two instances
        // flushing at once never deadlock.
        try await exclusive("record the activity of many sessions") { database in
            var hashes: [ByteBuffer] = []
            var times: [Int64] = []
            for touch in touches.sorted(by: { $0.idHash.lexicographicallyPrecedes($1.idHash) }) {
                hashes.append(bytea(touch.idHash))
                times.append(touch.lastActivity)
            }
            try await database.execute(
                """
                UPDATE sessions s SET last_activity = GREATEST(s.last_activity, t.at)
                FROM (SELECT * FROM unnest(\(hashes)::bytea[], \(times)::bigint[]) AS u(id_hash, at)) t
                WHERE s.id_hash = t.id_hash
                """)
        }
    }

    public func deleteSession(idHash: [UInt8]) async throws -> Bool {
        try await transaction("end a session") { database in
            guard let row = try await database.row("DELETE FROM sessions WHERE id_hash = \(bytea(idHash)) RETURNING user_id") else { return false }
            try await Self.log(.sessionEnded, userID: try row.int64("user_id"), sessionHash: idHash, on: database)
            return true
        }
    }

    public func deleteSession(shortIDPrefix prefix: String) async throws -> Int {
        let prefix = prefix.lowercased()
        guard prefix.count >= 6, prefix.count <= 64, prefix.allSatisfy({ $0.isHexDigit }) else {
            throw StoreError(.invalidInput, "A session id prefix is 6 to 64 hex digits, as `portcullis session list` shows them.")
        }
        return try await transaction("end a session") { database in
            let matches = try await database.rows("SELECT id_hash, user_id FROM sessions WHERE encode(id_hash, 'hex') LIKE \(prefix + "%") LIMIT 2")
            guard matches.count == 1 else {
                if matches.isEmpty { throw StoreError(.notFound, "No session id starts with \(prefix); see: portcullis session list") }
                let count = try await database.row("SELECT COUNT(*) AS n FROM sessions WHERE encode(id_hash, 'hex') LIKE \(prefix + "%")")?.int("n") ?? 2
                throw StoreError(.invalidInput, "\(count) sessions start with \(prefix); give more digits.")
            }
            let hash = try matches[0].bytes("id_hash")
            try await database.execute("DELETE FROM sessions WHERE id_hash = \(bytea(hash))")
            try await Self.log(.sessionEnded, userID: try matches[0].int64("user_id"), sessionHash: hash, on: database)
            return 1
        }
    }

    public func deleteSessions(userID: Int64) async throws -> Int {
        try await transaction("end a user's sessions") { database in
            let ended = try await Self.endSessions(userID: userID, on: database)
            // Their lingering Basic credentials end too, on every instance.
            if try await Self.forgetBasicLingers(ofUser: userID, on: database) > 0 {
                try await Self.log(.basicCredentialsEnded, userID: userID, on: database)
            }
            return ended
        }
    }

    /// Ends the user's sessions (only those of `level`, when given), logging each one's end.
    static func endSessions(userID: Int64, level: AuthLevel? = nil, on database: Database) async throws -> Int {
        let rows = if let level {
            try await database.rows("DELETE FROM sessions WHERE user_id = \(userID) AND auth_level = \(level.rawValue) RETURNING id_hash")
        } else {
            try await database.rows("DELETE FROM sessions WHERE user_id = \(userID) RETURNING id_hash")
        }
        for row in rows {
            try await log(.sessionEnded, userID: userID, sessionHash: try row.bytes("id_hash"), on: database)
        }
        return rows.count
    }

    public func deleteAllSessions() async throws -> Int {
        try await transaction("end all sessions") { database in
            let count = try await database.rows("DELETE FROM sessions RETURNING user_id").count
            let lingers = try await database.rows("DELETE FROM basic_lingers RETURNING user_id").count
            if count > 0 || lingers > 0 { try await Self.log(.allSessionsEnded, userID: nil, on: database) }
            return count
        }
    }

    public func purgeExpiredSessions(before unixTime: Int64) async throws -> Int {
        try await transaction("remove expired sessions") { database in
            let rows = try await database.rows("DELETE FROM sessions WHERE expires_at <= \(unixTime) RETURNING id_hash, user_id")
            // Every server then forgets them too, also those no request will judge again.
            for row in rows {
                try await Self.log(.sessionEnded, userID: try row.int64("user_id"), sessionHash: try row.bytes("id_hash"), on: database)
            }
            return rows.count
        }
    }

    static func session(from row: PostgresRandomAccessRow) throws -> SessionRecord {
        SessionRecord(
            idHash: try row.bytes("id_hash"),
            userID: try row.int64("user_id"),
            createdAt: try row.int64("s_created_at"),
            lastActivity: try row.int64("last_activity"),
            expiresAt: try row.int64("expires_at"),
            clientIP: try row.string("client_ip"),
            authLevel: try row.int("auth_level"),
            rememberMe: try row.bool("remember_me"),
            cookieDomain: try row.string("cookie_domain")
        )
    }
}
