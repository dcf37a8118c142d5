public import PortcullisCore
public import PortcullisStore
import PostgresNIO

extension PostgresStore {
    public func reserveAttempt(keys: RegulationKeys, at unixTime: Int64, policy: RegulationPolicy) async throws -> Reservation {
        // Under the write lock, as SQLite's one writer: of any number of attempts on any number of
        // instances, each counts what the ones before it reserved.
        try await transaction("count a login attempt") { database in
            try await database.execute("DELETE FROM auth_failures WHERE at <= \(unixTime - policy.findTime)")
            var name: AttemptCounts?
            if !keys.name.isEmpty {
                name = try await Self.counts(.user, keys.name, on: database, at: unixTime, policy: policy)
            }
            let client = try await Self.counts(.ip, keys.client, on: database, at: unixTime, policy: policy)
            switch policy.admission(name: name, client: client, now: unixTime) {
            case .banned(let ban): return .refused(.banned(ban))
            case .busy(let retryAfter): return .refused(.busy(retryAfter: retryAfter))
            case .admitted:
                let row = try await database.row(
                    "INSERT INTO auth_failures (at, user_name, client_ip, pending) VALUES (\(unixTime), \(storable(keys.name)), \(storable(keys.client)), TRUE) RETURNING id")
                return .admitted(AttemptTicket(id: try row?.int64("id") ?? 0, keys: keys, startedAt: unixTime))
            }
        }
    }

    /// The counts of one key, read inside the reserving transaction.
    static func counts(_ kind: BanKind, _ key: String, on database: Database, at unixTime: Int64, policy: RegulationPolicy) async throws -> AttemptCounts {
        let inFlightSince = unixTime - RegulationPolicy.inFlightExpiry
        let isName = kind == .user, key = storable(key)
        let row = try await database.row(
            """
            SELECT COALESCE(SUM(CASE WHEN NOT pending OR at <= \(inFlightSince) THEN 1 ELSE 0 END), 0) AS failures,
                   COALESCE(SUM(CASE WHEN pending AND at > \(inFlightSince) THEN 1 ELSE 0 END), 0) AS in_flight,
                   (SELECT until FROM bans WHERE kind = \(kind.rawValue) AND value_key = portcullis_fold(\(key))) AS until
            FROM auth_failures WHERE at > \(unixTime - policy.findTime)
                AND ((\(isName) AND user_key = portcullis_fold(\(key))) OR (NOT \(isName) AND client_ip = \(key)))
            """)
        return AttemptCounts(kind: kind, key: key, failures: try row?.int("failures") ?? 0, inFlight: try row?.int("in_flight") ?? 0,
                             bannedUntil: try row?.optionalInt64("until"))
    }

    public func settleAttempt(_ ticket: AttemptTicket, outcome: AttemptOutcome, at unixTime: Int64, policy: RegulationPolicy) async throws -> Settlement {
        try await transaction("settle a login attempt") { database in
            switch outcome {
            case .abandoned:
                try await database.execute("DELETE FROM auth_failures WHERE id = \(ticket.id) AND at = \(ticket.startedAt)")
                return Settlement()
            case .succeeded(let userID):
                try await database.execute("DELETE FROM auth_failures WHERE id = \(ticket.id) AND at = \(ticket.startedAt)")
                try await database.execute("UPDATE otp_lockouts SET consecutive_failures = 0 WHERE user_id = \(userID) AND locked_at IS NULL")
                return Settlement()
            case .failed(let wrongCodeOf):
                // A row lifted meanwhile (`ban remove` forgets the key's failures) stays forgotten.
                try await database.execute("UPDATE auth_failures SET pending = FALSE WHERE id = \(ticket.id) AND at = \(ticket.startedAt)")
                let windowStart = unixTime - policy.findTime
                // Count both keys before banning either: a ban forgets its key's settled failures.
                var counted: [(BanKind, String, Int)] = []
                for (kind, value) in [(BanKind.user, ticket.keys.name), (.ip, ticket.keys.client)] where !value.isEmpty {
                    let isName = kind == .user, key = storable(value)
                    let count = try await database.row(
                        """
                        SELECT COUNT(*) AS n FROM auth_failures WHERE at > \(windowStart) AND NOT pending
                            AND ((\(isName) AND user_key = portcullis_fold(\(key))) OR (NOT \(isName) AND client_ip = \(key)))
                        """)?.int("n") ?? 0
                    counted.append((kind, value, count))
                }
                var settlement = Settlement()
                for (kind, value, count) in counted {
                    guard let end = policy.banEnd(failuresInWindow: count, now: unixTime) else { continue }
                    try await database.execute(
                        """
                        INSERT INTO bans (kind, value, created_at, until) VALUES (\(kind.rawValue), \(storable(value)), \(unixTime), \(end))
                        ON CONFLICT (kind, value_key) DO UPDATE SET created_at = excluded.created_at, until = excluded.until
                        """)
                    try await Self.forgetSettledFailures(kind, value, on: database)
                    settlement.bans.append(Ban(kind: kind, value: value, createdAt: unixTime, until: end))
                }
                if let userID = wrongCodeOf {
                    let row = try await database.row(
                        """
                        INSERT INTO otp_lockouts (user_id, consecutive_failures) VALUES (\(userID), 1)
                        ON CONFLICT (user_id) DO UPDATE SET consecutive_failures = LEAST(otp_lockouts.consecutive_failures + 1, 1000000)
                        RETURNING consecutive_failures, locked_at
                        """)
                    let failures = try row?.int("consecutive_failures") ?? 0
                    if try row?.optionalInt64("locked_at") == nil, policy.locks(consecutiveOTPFailures: failures) {
                        try await database.execute("UPDATE otp_lockouts SET locked_at = \(unixTime) WHERE user_id = \(userID)")
                        settlement.locked = true
                    }
                }
                return settlement
            }
        }
    }

    /// Forgets one key's settled failures (a name ignoring case, an address as it is).
    static func forgetSettledFailures(_ kind: BanKind, _ value: String, on database: Database) async throws {
        let isName = kind == .user, key = storable(value)
        try await database.execute(
            """
            DELETE FROM auth_failures WHERE NOT pending
                AND ((\(isName) AND user_key = portcullis_fold(\(key))) OR (NOT \(isName) AND client_ip = \(key)))
            """)
    }

    public func activeBan(userName: String?, clientIP: String, at unixTime: Int64) async throws -> Ban? {
        try await exclusive("read bans") { database in
            try await database.row(
                """
                SELECT * FROM bans WHERE until > \(unixTime)
                    AND ((kind = 'ip' AND value_key = portcullis_fold(\(storable(clientIP)))) OR (kind = 'user' AND value_key = portcullis_fold(\(storable(userName ?? "")))))
                ORDER BY until DESC LIMIT 1
                """).map(Self.ban(from:))
        }
    }

    public func activeBans(at unixTime: Int64) async throws -> [Ban] {
        try await exclusive("read bans") { database in
            try await database.rows("SELECT * FROM bans WHERE until > \(unixTime) ORDER BY until, kind, value_key").map(Self.ban(from:))
        }
    }

    public func removeBan(kind: BanKind, value: String) async throws -> Int {
        try await transaction("lift a ban") { database in
            let removed = try await database.rows(
                "DELETE FROM bans WHERE kind = \(kind.rawValue) AND value_key = portcullis_fold(\(storable(value))) RETURNING until").count
            try await Self.forgetSettledFailures(kind, value, on: database)
            return removed
        }
    }

    public func lockedAt(userID: Int64) async throws -> Int64? {
        try await exclusive("read the lockout") { database in
            try await database.row("SELECT locked_at FROM otp_lockouts WHERE user_id = \(userID)")?.optionalInt64("locked_at")
        }
    }

    public func unlock(userID: Int64) async throws -> Bool {
        try await transaction("unlock a user") { database in
            try await database.row("DELETE FROM otp_lockouts WHERE user_id = \(userID) RETURNING locked_at")?.optionalInt64("locked_at") != nil
        }
    }

    public func purgeRegulation(before unixTime: Int64) async throws -> Int {
        try await transaction("forget old failures and bans") { database in
            let failures = try await database.rows("DELETE FROM auth_failures WHERE at < \(unixTime) RETURNING at").count
            let bans = try await database.rows("DELETE FROM bans WHERE until < \(unixTime) RETURNING until").count
            return failures + bans
        }
    }

    static func ban(from row: PostgresRandomAccessRow) throws -> Ban {
        Ban(kind: BanKind(rawValue: try row.string("kind")) ?? .ip, value: try row.string("value"),
            createdAt: try row.int64("created_at"), until: try row.int64("until"))
    }

    // MARK: AuditStore

    public func appendAudit(_ entry: AuditEntry) async throws {
        try await exclusive("write the audit trail") { database in
            try await database.execute(
                """
                INSERT INTO audit (at, event, user_name, client_ip, reason)
                VALUES (\(entry.time), \(entry.event.rawValue), \(storable(entry.userName)), \(storable(entry.clientIP)), \(storable(entry.reason)))
                """)
        }
    }

    public func lastLogins() async throws -> [String: Int64] {
        try await exclusive("read the last logins") { database in
            let rows = try await database.rows("SELECT user_key, MAX(at) AS at FROM audit WHERE event = 'login_succeeded' GROUP BY user_key")
            return Dictionary(try rows.map { (try $0.string("user_key"), try $0.int64("at")) }, uniquingKeysWith: max)
        }
    }

    public func auditEntries(userName: String?, event: AuditEntry.Event?, since unixTime: Int64, limit: Int) async throws -> [AuditEntry] {
        try await exclusive("read the audit trail") { database in
            // Filtered here, before the limit: a flood of failures must not hide the entries asked for.
            let rows = try await database.rows(
                """
                SELECT * FROM audit WHERE at >= \(unixTime)
                    AND (\(userName.map(storable))::text IS NULL OR user_key = portcullis_fold(\(userName.map(storable))))
                    AND (\(event?.rawValue)::text IS NULL OR event = \(event?.rawValue))
                ORDER BY at, id LIMIT \(Int64(max(0, limit)))
                """)
            return try rows.compactMap { row in
                guard let event = AuditEntry.Event(rawValue: try row.string("event")) else { return nil }
                return AuditEntry(time: try row.int64("at"), event: event, userName: try row.string("user_name"),
                                  clientIP: try row.string("client_ip"), reason: try row.string("reason"))
            }
        }
    }

    public func purgeAudit(before unixTime: Int64) async throws -> Int {
        try await exclusive("apply the audit retention") { database in
            try await database.rows("DELETE FROM audit WHERE at < \(unixTime) RETURNING id").count
        }
    }
}
