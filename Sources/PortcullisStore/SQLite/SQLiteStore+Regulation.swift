public import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    public func recordFailure(userName: String, clientIP: String, at unixTime: Int64, policy: RegulationPolicy) async throws -> [Ban] {
        try await transaction("record a failed login") { connection in
            let windowStart = unixTime - policy.findTime
            _ = try await connection.query("DELETE FROM auth_failures WHERE at <= ?", [.int64(windowStart)])
            _ = try await connection.query("INSERT INTO auth_failures (at, user_name, client_ip) VALUES (?, ?, ?)",
                                           [.int64(unixTime), .text(userName), .text(clientIP)])
            // Count both keys before banning either: a ban forgets its key's failures.
            var counts: [(BanKind, String, String, Int)] = []
            for (kind, column, value) in [(BanKind.user, "user_name", userName), (.ip, "client_ip", clientIP)] where !value.isEmpty {
                let count = try await connection.query("SELECT count(*) AS n FROM auth_failures WHERE \(column) = ? AND at > ?",
                                                       [.text(value), .int64(windowStart)]).first?.column("n")?.integer ?? 0
                counts.append((kind, column, value, count))
            }
            var bans: [Ban] = []
            for (kind, column, value, count) in counts {
                guard let end = policy.banEnd(failuresInWindow: count, now: unixTime) else { continue }
                _ = try await connection.query(
                    "INSERT INTO bans (kind, value, created_at, until) VALUES (?, ?, ?, ?) ON CONFLICT (kind, value) DO UPDATE SET created_at = excluded.created_at, until = excluded.until",
                    [.text(kind.rawValue), .text(value), .int64(unixTime), .int64(end)])
                _ = try await connection.query("DELETE FROM auth_failures WHERE \(column) = ?", [.text(value)])
                bans.append(Ban(kind: kind, value: value, createdAt: unixTime, until: end))
            }
            return bans
        }
    }

    public func activeBan(userName: String?, clientIP: String, at unixTime: Int64) async throws -> Ban? {
        try await exclusive("read bans") { connection in
            try await connection.query(
                "SELECT * FROM bans WHERE until > ? AND ((kind = 'ip' AND value = ?) OR (kind = 'user' AND value = ?)) ORDER BY until DESC LIMIT 1",
                [.int64(unixTime), .text(clientIP), .text(userName ?? "")]
            ).first.map(Self.ban(from:))
        }
    }

    public func activeBans(at unixTime: Int64) async throws -> [Ban] {
        try await exclusive("read bans") { connection in
            try await connection.query("SELECT * FROM bans WHERE until > ? ORDER BY until, kind, value", [.int64(unixTime)]).map(Self.ban(from:))
        }
    }

    public func removeBan(kind: BanKind, value: String) async throws -> Int {
        try await transaction("lift a ban") { connection in
            let removed = try await connection.query("DELETE FROM bans WHERE kind = ? AND value = ? RETURNING until", [.text(kind.rawValue), .text(value)])
            let column = kind == .user ? "user_name" : "client_ip"
            _ = try await connection.query("DELETE FROM auth_failures WHERE \(column) = ?", [.text(value)])
            return removed.count
        }
    }

    public func recordOTPFailure(userID: Int64, at unixTime: Int64, limit: Int) async throws -> Bool {
        try await transaction("count a wrong code") { connection in
            let row = try await connection.query(
                """
                INSERT INTO otp_lockouts (user_id, consecutive_failures) VALUES (?, 1)
                ON CONFLICT (user_id) DO UPDATE SET consecutive_failures = consecutive_failures + 1
                RETURNING consecutive_failures, locked_at
                """, [.int64(userID)]).first
            let failures = row?.column("consecutive_failures")?.integer ?? 0
            let alreadyLocked = row?.column("locked_at")?.integer != nil
            guard limit > 0, failures >= limit, !alreadyLocked else { return false }
            _ = try await connection.query("UPDATE otp_lockouts SET locked_at = ? WHERE user_id = ?", [.int64(unixTime), .int64(userID)])
            return true
        }
    }

    public func clearOTPFailures(userID: Int64) async throws {
        try await exclusive("reset the wrong-code count") { connection in
            _ = try await connection.query("UPDATE otp_lockouts SET consecutive_failures = 0 WHERE user_id = ? AND locked_at IS NULL", [.int64(userID)])
        }
    }

    public func lockedAt(userID: Int64) async throws -> Int64? {
        try await exclusive("read the lockout") { connection in
            try await connection.query("SELECT locked_at FROM otp_lockouts WHERE user_id = ?", [.int64(userID)])
                .first?.column("locked_at")?.integer.map(Int64.init)
        }
    }

    public func unlock(userID: Int64) async throws -> Bool {
        try await transaction("unlock a user") { connection in
            let rows = try await connection.query("DELETE FROM otp_lockouts WHERE user_id = ? RETURNING locked_at", [.int64(userID)])
            return rows.first?.column("locked_at")?.integer != nil
        }
    }

    public func appendAudit(_ entry: AuditEntry) async throws {
        try await exclusive("write the audit trail") { connection in
            _ = try await connection.query("INSERT INTO audit (at, event, user_name, client_ip, reason) VALUES (?, ?, ?, ?, ?)",
                                           [.int64(entry.time), .text(entry.event.rawValue), .text(entry.userName), .text(entry.clientIP), .text(entry.reason)])
        }
    }

    public func auditEntries(userName: String?, since unixTime: Int64, limit: Int) async throws -> [AuditEntry] {
        try await exclusive("read the audit trail") { connection in
            var sql = "SELECT * FROM audit WHERE at >= ?"
            var binds: [SQLiteData] = [.int64(unixTime)]
            if let userName {
                sql += " AND user_name = ?"
                binds.append(.text(userName))
            }
            sql += " ORDER BY at, id LIMIT ?"
            binds.append(.integer(max(0, limit)))
            return try await connection.query(sql, binds).compactMap { row in
                guard let event = AuditEntry.Event(rawValue: row.column("event")?.string ?? "") else { return nil }
                return AuditEntry(time: Int64(row.column("at")?.integer ?? 0), event: event, userName: row.column("user_name")?.string ?? "",
                                  clientIP: row.column("client_ip")?.string ?? "", reason: row.column("reason")?.string ?? "")
            }
        }
    }

    static func ban(from row: SQLiteRow) -> Ban {
        Ban(kind: BanKind(rawValue: row.column("kind")?.string ?? "") ?? .ip, value: row.column("value")?.string ?? "",
            createdAt: Int64(row.column("created_at")?.integer ?? 0), until: Int64(row.column("until")?.integer ?? 0))
    }
}
