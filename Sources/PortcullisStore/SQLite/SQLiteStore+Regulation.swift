public import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    public func reserveAttempt(keys: RegulationKeys, at unixTime: Int64, policy: RegulationPolicy) async throws -> Reservation {
        try await transaction("count a login attempt") { connection in
            let windowStart = unixTime - policy.findTime
            _ = try await connection.query("DELETE FROM auth_failures WHERE at <= ?", [.int64(windowStart)])
            var name: AttemptCounts?
            if !keys.name.isEmpty {
                name = try await Self.counts(.user, keys.name, on: connection, at: unixTime, policy: policy)
            }
            let client = try await Self.counts(.ip, keys.client, on: connection, at: unixTime, policy: policy)
            switch policy.admission(name: name, client: client, now: unixTime) {
            case .banned(let ban): return .refused(.banned(ban))
            case .busy(let retryAfter): return .refused(.busy(retryAfter: retryAfter))
            case .admitted:
                let row = try await connection.query(
                    "INSERT INTO auth_failures (at, user_name, client_ip, pending) VALUES (?, ?, ?, 1) RETURNING rowid AS id",
                    [.int64(unixTime), .text(keys.name), .text(keys.client)]).first
                return .admitted(AttemptTicket(id: Int64(row?.column("id")?.integer ?? 0), keys: keys, startedAt: unixTime))
            }
        }
    }

    /// The counts of one key, read inside the reserving transaction.
    static func counts(_ kind: BanKind, _ key: String, on connection: SQLiteConnection, at unixTime: Int64, policy: RegulationPolicy) async throws -> AttemptCounts {
        let column = kind == .user ? "user_name" : "client_ip"
        let inFlightSince = unixTime - RegulationPolicy.inFlightExpiry
        let row = try await connection.query(
            """
            SELECT coalesce(sum(CASE WHEN pending = 0 OR at <= ? THEN 1 ELSE 0 END), 0) AS failures,
                   coalesce(sum(CASE WHEN pending = 1 AND at > ? THEN 1 ELSE 0 END), 0) AS in_flight,
                   (SELECT until FROM bans WHERE kind = ? AND value = ?) AS until
            FROM auth_failures WHERE \(column) = ? AND at > ?
            """,
            [.int64(inFlightSince), .int64(inFlightSince), .text(kind.rawValue), .text(key), .text(key), .int64(unixTime - policy.findTime)]).first
        return AttemptCounts(kind: kind, key: key, failures: row?.column("failures")?.integer ?? 0, inFlight: row?.column("in_flight")?.integer ?? 0,
                             bannedUntil: row?.column("until")?.integer.map(Int64.init))
    }

    public func settleAttempt(_ ticket: AttemptTicket, outcome: AttemptOutcome, at unixTime: Int64, policy: RegulationPolicy) async throws -> Settlement {
        try await transaction("settle a login attempt") { connection in
            switch outcome {
            case .abandoned:
                _ = try await connection.query("DELETE FROM auth_failures WHERE rowid = ? AND at = ?", [.int64(ticket.id), .int64(ticket.startedAt)])
                return Settlement()
            case .succeeded(let userID):
                _ = try await connection.query("DELETE FROM auth_failures WHERE rowid = ? AND at = ?", [.int64(ticket.id), .int64(ticket.startedAt)])
                _ = try await connection.query("UPDATE otp_lockouts SET consecutive_failures = 0 WHERE user_id = ? AND locked_at IS NULL", [.int64(userID)])
                return Settlement()
            case .failed(let wrongCodeOf):
                // A row lifted meanwhile (`ban remove` forgets the key's failures) stays forgotten.
                _ = try await connection.query("UPDATE auth_failures SET pending = 0 WHERE rowid = ? AND at = ?", [.int64(ticket.id), .int64(ticket.startedAt)])
                let windowStart = unixTime - policy.findTime
                // Count both keys before banning either: a ban forgets its key's settled failures.
                var counted: [(BanKind, String, String, Int)] = []
                for (kind, column, value) in [(BanKind.user, "user_name", ticket.keys.name), (.ip, "client_ip", ticket.keys.client)] where !value.isEmpty {
                    let count = try await connection.query("SELECT count(*) AS n FROM auth_failures WHERE \(column) = ? AND at > ? AND pending = 0",
                                                           [.text(value), .int64(windowStart)]).first?.column("n")?.integer ?? 0
                    counted.append((kind, column, value, count))
                }
                var settlement = Settlement()
                for (kind, column, value, count) in counted {
                    guard let end = policy.banEnd(failuresInWindow: count, now: unixTime) else { continue }
                    _ = try await connection.query(
                        "INSERT INTO bans (kind, value, created_at, until) VALUES (?, ?, ?, ?) ON CONFLICT (kind, value) DO UPDATE SET created_at = excluded.created_at, until = excluded.until",
                        [.text(kind.rawValue), .text(value), .int64(unixTime), .int64(end)])
                    _ = try await connection.query("DELETE FROM auth_failures WHERE \(column) = ? AND pending = 0", [.text(value)])
                    settlement.bans.append(Ban(kind: kind, value: value, createdAt: unixTime, until: end))
                }
                if let userID = wrongCodeOf {
                    let row = try await connection.query(
                        """
                        INSERT INTO otp_lockouts (user_id, consecutive_failures) VALUES (?, 1)
                        ON CONFLICT (user_id) DO UPDATE SET consecutive_failures = min(consecutive_failures + 1, 1000000)
                        RETURNING consecutive_failures, locked_at
                        """, [.int64(userID)]).first
                    let failures = row?.column("consecutive_failures")?.integer ?? 0
                    if row?.column("locked_at")?.integer == nil, policy.locks(consecutiveOTPFailures: failures) {
                        _ = try await connection.query("UPDATE otp_lockouts SET locked_at = ? WHERE user_id = ?", [.int64(unixTime), .int64(userID)])
                        settlement.locked = true
                    }
                }
                return settlement
            }
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
            _ = try await connection.query("DELETE FROM auth_failures WHERE \(column) = ? AND pending = 0", [.text(value)])
            return removed.count
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

    public func lastLogins() async throws -> [String: Int64] {
        try await exclusive("read the last logins") { connection in
            let rows = try await connection.query("SELECT lower(user_name) AS name, max(at) AS at FROM audit WHERE event = 'login_succeeded' GROUP BY lower(user_name)")
            return Dictionary(rows.map { ($0.column("name")?.string ?? "", Int64($0.column("at")?.integer ?? 0)) }, uniquingKeysWith: max)
        }
    }

    public func auditEntries(userName: String?, event: AuditEntry.Event?, since unixTime: Int64, limit: Int) async throws -> [AuditEntry] {
        try await exclusive("read the audit trail") { connection in
            var sql = "SELECT * FROM audit WHERE at >= ?"
            var binds: [SQLiteData] = [.int64(unixTime)]
            if let userName {
                sql += " AND user_name = ?"
                binds.append(.text(userName))
            }
            // Filtered here, before the limit: a flood of failures must not hide the entries asked for.
            if let event {
                sql += " AND event = ?"
                binds.append(.text(event.rawValue))
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

    public func purgeAudit(before unixTime: Int64) async throws -> Int {
        try await exclusive("apply the audit retention") { connection in
            try await connection.query("DELETE FROM audit WHERE at < ? RETURNING id", [.int64(unixTime)]).count
        }
    }

    public func purgeRegulation(before unixTime: Int64) async throws -> Int {
        try await transaction("forget old failures and bans") { connection in
            let failures = try await connection.query("DELETE FROM auth_failures WHERE at < ? RETURNING at", [.int64(unixTime)]).count
            let bans = try await connection.query("DELETE FROM bans WHERE until < ? RETURNING until", [.int64(unixTime)]).count
            return failures + bans
        }
    }

    static func ban(from row: SQLiteRow) -> Ban {
        Ban(kind: BanKind(rawValue: row.column("kind")?.string ?? "") ?? .ip, value: row.column("value")?.string ?? "",
            createdAt: Int64(row.column("created_at")?.integer ?? 0), until: Int64(row.column("until")?.integer ?? 0))
    }
}
