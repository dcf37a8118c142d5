import PortcullisCore
public import PortcullisStore
import NIOCore
import PostgresNIO

extension PostgresStore {
    public func snapshot() async throws -> StoreSnapshot {
        try await exclusive("read the whole store") { database in
            // One snapshot of the database for every table: writers carry on meanwhile.
            try await database.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                var snapshot = StoreSnapshot()
                snapshot.secrets = try await database.rows("SELECT key, value FROM meta ORDER BY key").compactMap { row in
                    let name = try row.string("key")
                    return StoreSnapshot.carries(name) ? StoreSnapshot.Secret(name: name, sealed: try row.bytes("value")) : nil
                }
                snapshot.users = try await database.rows("SELECT * FROM users ORDER BY id").map(Self.user(from:))
                snapshot.devices = try await database.rows("SELECT * FROM otp_devices ORDER BY created_at, added").map(Self.device(from:))
                snapshot.sessions = try await database.rows("SELECT *, created_at AS s_created_at FROM sessions ORDER BY created_at, added").map(Self.session(from:))
                snapshot.appPasswords = try await database.rows("SELECT * FROM app_passwords ORDER BY id").map { try Self.appPassword(from: $0) }
                snapshot.recoveryCodes = try await database.rows("SELECT * FROM recovery_codes ORDER BY user_id, created_at, code_hash").map { row in
                    StoreSnapshot.RecoveryCodeRow(userID: try row.int64("user_id"), hash: try row.bytes("code_hash"), createdAt: try row.int64("created_at"))
                }
                snapshot.invitations = try await database.rows("SELECT * FROM invitations ORDER BY created_at, token_hash").compactMap { row in
                    guard let kind = InvitationRecord.Kind(rawValue: try row.string("kind")) else { return nil }
                    return InvitationRecord(tokenHash: try row.bytes("token_hash"), userID: try row.int64("user_id"), kind: kind,
                                            createdAt: try row.int64("created_at"), expiresAt: try row.int64("expires_at"))
                }
                snapshot.lockouts = try await database.rows("SELECT * FROM otp_lockouts ORDER BY user_id").map { row in
                    StoreSnapshot.LockoutRow(userID: try row.int64("user_id"), consecutiveFailures: try row.int("consecutive_failures"),
                                             lockedAt: try row.optionalInt64("locked_at"))
                }
                snapshot.bans = try await database.rows("SELECT * FROM bans ORDER BY kind, value_key").map(Self.ban(from:))
                snapshot.failures = try await database.rows("SELECT * FROM auth_failures ORDER BY at, id").map { row in
                    StoreSnapshot.FailureRow(at: try row.int64("at"), userName: try row.string("user_name"), clientIP: try row.string("client_ip"),
                                             pending: try row.bool("pending"))
                }
                snapshot.audit = try await database.rows("SELECT * FROM audit ORDER BY at, id").compactMap { row in
                    guard let event = AuditEntry.Event(rawValue: try row.string("event")) else { return nil }
                    return AuditEntry(time: try row.int64("at"), event: event, userName: try row.string("user_name"),
                                      clientIP: try row.string("client_ip"), reason: try row.string("reason"))
                }
                try await database.execute("COMMIT")
                return snapshot
            } catch {
                try? await database.execute("ROLLBACK")
                throw error
            }
        }
    }

    public func load(_ snapshot: StoreSnapshot) async throws {
        try await transaction("copy into the store") { database in
            let held = try await database.row(
                """
                SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM sessions)
                     + (SELECT COUNT(*) FROM meta WHERE key = \(Self.keyCheckName) OR key = \(Self.recoveryKeyName)) AS n
                """)?.int("n") ?? 0
            guard held == 0 else {
                throw StoreError(.conflict, "The \(self.place) is not empty (it has users, sessions or a storage key check); copy only into a new store.")
            }
            for secret in snapshot.secrets {
                try await database.execute(
                    "INSERT INTO meta (key, value) VALUES (\(secret.name), \(bytea(secret.sealed))) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            }
            for user in snapshot.users {
                try await database.execute(
                    """
                    INSERT INTO users (id, name, display_name, email, "groups", password_hash, disabled, created_at)
                    VALUES (\(user.id), \(user.name), \(user.displayName), \(user.email), \(user.groups.joined(separator: ",")), \(user.passwordHash),
                            \(user.disabled), \(user.createdAt))
                    """)
            }
            for device in snapshot.devices { try await Self.insert(device, on: database) }
            // Sessions and the audit trail can be many: sent in batches of rows as arrays.
            for batch in snapshot.sessions.chunked(by: 5000) {
                try await database.execute(
                    """
                    INSERT INTO sessions (id_hash, user_id, created_at, last_activity, expires_at, client_ip, auth_level, remember_me, cookie_domain)
                    SELECT * FROM unnest(\(batch.map { bytea($0.idHash) })::bytea[], \(batch.map(\.userID))::bigint[], \(batch.map(\.createdAt))::bigint[],
                                         \(batch.map(\.lastActivity))::bigint[], \(batch.map(\.expiresAt))::bigint[], \(batch.map { storable($0.clientIP) })::text[],
                                         \(batch.map { Int64($0.authLevel) })::bigint[], \(batch.map(\.rememberMe))::boolean[], \(batch.map(\.cookieDomain))::text[])
                    """)
            }
            for record in snapshot.appPasswords {
                try await database.execute(
                    """
                    INSERT INTO app_passwords (id, user_id, label, hash, created_at, expires_at, last_used_at, auth_level)
                    VALUES (\(record.id), \(record.userID), \(record.label), \(bytea(record.hash)), \(record.createdAt), \(record.expiresAt),
                            \(record.lastUsedAt), \(record.level.rawValue))
                    """)
            }
            // Ids were given: the next ones made here continue after them.
            try await database.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT MAX(id) FROM users), 1))")
            try await database.execute("SELECT setval(pg_get_serial_sequence('app_passwords', 'id'), GREATEST((SELECT MAX(id) FROM app_passwords), 1))")
            for code in snapshot.recoveryCodes {
                try await database.execute(
                    "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (\(code.userID), \(bytea(code.hash)), \(code.createdAt))")
            }
            for invitation in snapshot.invitations {
                try await database.execute(
                    """
                    INSERT INTO invitations (token_hash, user_id, kind, created_at, expires_at)
                    VALUES (\(bytea(invitation.tokenHash)), \(invitation.userID), \(invitation.kind.rawValue), \(invitation.createdAt), \(invitation.expiresAt))
                    """)
            }
            for lockout in snapshot.lockouts {
                try await database.execute(
                    "INSERT INTO otp_lockouts (user_id, consecutive_failures, locked_at) VALUES (\(lockout.userID), \(lockout.consecutiveFailures), \(lockout.lockedAt))")
            }
            for ban in snapshot.bans {
                try await database.execute(
                    "INSERT INTO bans (kind, value, created_at, until) VALUES (\(ban.kind.rawValue), \(storable(ban.value)), \(ban.createdAt), \(ban.until))")
            }
            for failure in snapshot.failures {
                try await database.execute(
                    """
                    INSERT INTO auth_failures (at, user_name, client_ip, pending)
                    VALUES (\(failure.at), \(storable(failure.userName)), \(storable(failure.clientIP)), \(failure.pending))
                    """)
            }
            for batch in snapshot.audit.chunked(by: 5000) {
                try await database.execute(
                    """
                    INSERT INTO audit (at, event, user_name, client_ip, reason)
                    SELECT * FROM unnest(\(batch.map(\.time))::bigint[], \(batch.map(\.event.rawValue))::text[], \(batch.map { storable($0.userName) })::text[],
                                         \(batch.map { storable($0.clientIP) })::text[], \(batch.map { storable($0.reason) })::text[])
                    """)
            }
            // Checked before the commit: a copy that does not add up writes nothing.
            let counts = try await Self.counts(on: database)
            guard counts == snapshot.counts else {
                throw StoreError(.database, "The copy does not add up (read: \(snapshot.counts); written: \(counts)); nothing was written.")
            }
        }
    }

    public func counts() async throws -> StoreCounts {
        try await exclusive("count the store's rows") { database in try await Self.counts(on: database) }
    }

    static func counts(on database: Database) async throws -> StoreCounts {
        let row = try await database.row(
            """
            SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM otp_devices) AS devices, (SELECT COUNT(*) FROM sessions) AS sessions,
                   (SELECT COUNT(*) FROM app_passwords) AS app_passwords, (SELECT COUNT(*) FROM recovery_codes) AS recovery_codes,
                   (SELECT COUNT(*) FROM invitations) AS invitations, (SELECT COUNT(*) FROM otp_lockouts) AS lockouts, (SELECT COUNT(*) FROM bans) AS bans,
                   (SELECT COUNT(*) FROM auth_failures) AS failures, (SELECT COUNT(*) FROM audit) AS audit
            """)
        let secrets = try await database.rows("SELECT key FROM meta").filter { StoreSnapshot.carries(try $0.string("key")) }.count
        func count(_ column: String) throws -> Int { try row?.int(column) ?? 0 }
        return StoreCounts(users: try count("users"), devices: try count("devices"), sessions: try count("sessions"),
                           appPasswords: try count("app_passwords"), recoveryCodes: try count("recovery_codes"), invitations: try count("invitations"),
                           lockouts: try count("lockouts"), bans: try count("bans"), failures: try count("failures"), audit: try count("audit"),
                           secrets: secrets)
    }
}

extension Array {
    /// The elements in runs of at most `size`.
    func chunked(by size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
