import PortcullisCore
import SQLiteNIO

extension SQLiteStore {
    public func snapshot() async throws -> StoreSnapshot {
        try await transaction("read the whole store") { connection in
            var snapshot = StoreSnapshot()
            snapshot.secrets = try await connection.query("SELECT key, value FROM meta ORDER BY key").compactMap { row in
                guard let name = row.column("key")?.string, StoreSnapshot.carries(name), let sealed = row.column("value")?.bytes else { return nil }
                return StoreSnapshot.Secret(name: name, sealed: sealed)
            }
            snapshot.users = try await connection.query("SELECT * FROM users ORDER BY id").map(Self.user(from:))
            snapshot.devices = try await connection.query("SELECT * FROM otp_devices ORDER BY created_at, rowid").map(Self.device(from:))
            snapshot.sessions = try await connection.query("SELECT *, created_at AS s_created_at FROM sessions ORDER BY created_at, rowid").map(Self.session(from:))
            snapshot.appPasswords = try await connection.query("SELECT * FROM app_passwords ORDER BY id").map(Self.appPassword(from:))
            snapshot.recoveryCodes = try await connection.query("SELECT * FROM recovery_codes ORDER BY user_id, created_at, code_hash").map { row in
                StoreSnapshot.RecoveryCodeRow(userID: Int64(row.column("user_id")?.integer ?? 0), hash: row.column("code_hash")?.bytes ?? [],
                                              createdAt: Int64(row.column("created_at")?.integer ?? 0))
            }
            snapshot.invitations = try await connection.query("SELECT * FROM invitations ORDER BY created_at, token_hash").compactMap { row in
                guard let kind = InvitationRecord.Kind(rawValue: row.column("kind")?.string ?? "") else { return nil }
                return InvitationRecord(tokenHash: row.column("token_hash")?.bytes ?? [], userID: Int64(row.column("user_id")?.integer ?? 0), kind: kind,
                                        createdAt: Int64(row.column("created_at")?.integer ?? 0), expiresAt: Int64(row.column("expires_at")?.integer ?? 0))
            }
            snapshot.lockouts = try await connection.query("SELECT * FROM otp_lockouts ORDER BY user_id").map { row in
                StoreSnapshot.LockoutRow(userID: Int64(row.column("user_id")?.integer ?? 0), consecutiveFailures: row.column("consecutive_failures")?.integer ?? 0,
                                         lockedAt: row.column("locked_at")?.integer.map(Int64.init))
            }
            snapshot.bans = try await connection.query("SELECT * FROM bans ORDER BY kind, value").map(Self.ban(from:))
            snapshot.failures = try await connection.query("SELECT * FROM auth_failures ORDER BY at, rowid").map { row in
                StoreSnapshot.FailureRow(at: Int64(row.column("at")?.integer ?? 0), userName: row.column("user_name")?.string ?? "",
                                         clientIP: row.column("client_ip")?.string ?? "", pending: (row.column("pending")?.integer ?? 0) != 0)
            }
            snapshot.audit = try await connection.query("SELECT * FROM audit ORDER BY at, id").compactMap { row in
                guard let event = AuditEntry.Event(rawValue: row.column("event")?.string ?? "") else { return nil }
                return AuditEntry(time: Int64(row.column("at")?.integer ?? 0), event: event, userName: row.column("user_name")?.string ?? "",
                                  clientIP: row.column("client_ip")?.string ?? "", reason: row.column("reason")?.string ?? "")
            }
            return snapshot
        }
    }

    public func load(_ snapshot: StoreSnapshot) async throws {
        try await transaction("copy into the store") { connection in
            let held = try await connection.query(
                "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM sessions) + (SELECT COUNT(*) FROM meta WHERE key = ? OR key = ?) AS n",
                [.text(Self.keyCheckName), .text(Self.recoveryKeyName)]).first?.column("n")?.integer ?? 0
            guard held == 0 else {
                throw StoreError(.conflict, "The store \(self.path) is not empty (it has users, sessions or a storage key check); copy only into a new store.")
            }
            for secret in snapshot.secrets {
                _ = try await connection.query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [.text(secret.name), .bytes(secret.sealed)])
            }
            for user in snapshot.users {
                _ = try await connection.query(
                    "INSERT INTO users (id, name, display_name, email, groups, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [.int64(user.id), .text(user.name), .text(user.displayName), .text(user.email), .text(user.groups.joined(separator: ",")),
                     user.passwordHash.map { .text($0) } ?? .null, .integer(user.disabled ? 1 : 0), .int64(user.createdAt)])
            }
            for device in snapshot.devices { try await Self.insert(device, on: connection) }
            for session in snapshot.sessions {
                _ = try await connection.query(
                    """
                    INSERT INTO sessions (id_hash, user_id, created_at, last_activity, expires_at, client_ip, auth_level, remember_me, cookie_domain)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [.bytes(session.idHash), .int64(session.userID), .int64(session.createdAt), .int64(session.lastActivity), .int64(session.expiresAt),
                     .text(session.clientIP), .integer(session.authLevel), .integer(session.rememberMe ? 1 : 0), .text(session.cookieDomain)])
            }
            for record in snapshot.appPasswords {
                _ = try await connection.query(
                    "INSERT INTO app_passwords (id, user_id, label, hash, created_at, expires_at, last_used_at, auth_level) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [.int64(record.id), .int64(record.userID), .text(record.label), .bytes(record.hash), .int64(record.createdAt),
                     .optionalInteger(record.expiresAt), .optionalInteger(record.lastUsedAt), .integer(record.level.rawValue)])
            }
            for code in snapshot.recoveryCodes {
                _ = try await connection.query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)",
                                               [.int64(code.userID), .bytes(code.hash), .int64(code.createdAt)])
            }
            for invitation in snapshot.invitations {
                _ = try await connection.query("INSERT INTO invitations (token_hash, user_id, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                                               [.bytes(invitation.tokenHash), .int64(invitation.userID), .text(invitation.kind.rawValue),
                                                .int64(invitation.createdAt), .int64(invitation.expiresAt)])
            }
            for lockout in snapshot.lockouts {
                _ = try await connection.query("INSERT INTO otp_lockouts (user_id, consecutive_failures, locked_at) VALUES (?, ?, ?)",
                                               [.int64(lockout.userID), .integer(lockout.consecutiveFailures), .optionalInteger(lockout.lockedAt)])
            }
            for ban in snapshot.bans {
                _ = try await connection.query("INSERT INTO bans (kind, value, created_at, until) VALUES (?, ?, ?, ?)",
                                               [.text(ban.kind.rawValue), .text(ban.value), .int64(ban.createdAt), .int64(ban.until)])
            }
            for failure in snapshot.failures {
                _ = try await connection.query("INSERT INTO auth_failures (at, user_name, client_ip, pending) VALUES (?, ?, ?, ?)",
                                               [.int64(failure.at), .text(failure.userName), .text(failure.clientIP), .integer(failure.pending ? 1 : 0)])
            }
            for entry in snapshot.audit {
                _ = try await connection.query("INSERT INTO audit (at, event, user_name, client_ip, reason) VALUES (?, ?, ?, ?, ?)",
                                               [.int64(entry.time), .text(entry.event.rawValue), .text(entry.userName), .text(entry.clientIP), .text(entry.reason)])
            }
            // Checked before the commit: a copy that does not add up writes nothing.
            let counts = try await Self.counts(on: connection)
            guard counts == snapshot.counts else {
                throw StoreError(.database, "The copy does not add up (read: \(snapshot.counts); written: \(counts)); nothing was written.")
            }
        }
    }

    public func counts() async throws -> StoreCounts {
        try await exclusive("count the store's rows") { connection in try await Self.counts(on: connection) }
    }

    static func counts(on connection: SQLiteConnection) async throws -> StoreCounts {
        let row = try await connection.query(
            """
            SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM otp_devices) AS devices, (SELECT COUNT(*) FROM sessions) AS sessions,
                   (SELECT COUNT(*) FROM app_passwords) AS app_passwords, (SELECT COUNT(*) FROM recovery_codes) AS recovery_codes,
                   (SELECT COUNT(*) FROM invitations) AS invitations, (SELECT COUNT(*) FROM otp_lockouts) AS lockouts, (SELECT COUNT(*) FROM bans) AS bans,
                   (SELECT COUNT(*) FROM auth_failures) AS failures, (SELECT COUNT(*) FROM audit) AS audit
            """).first
        let secrets = try await connection.query("SELECT key FROM meta").filter { StoreSnapshot.carries($0.column("key")?.string ?? "") }.count
        func count(_ column: String) -> Int { row?.column(column)?.integer ?? 0 }
        return StoreCounts(users: count("users"), devices: count("devices"), sessions: count("sessions"), appPasswords: count("app_passwords"),
                           recoveryCodes: count("recovery_codes"), invitations: count("invitations"), lockouts: count("lockouts"), bans: count("bans"),
                           failures: count("failures"), audit: count("audit"), secrets: secrets)
    }
}
