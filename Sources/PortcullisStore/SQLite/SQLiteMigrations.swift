/// The SQLite schema, as numbered steps applied in order at start. Never edit a published step;
/// add a new one.
enum SQLiteMigrations {
    static let steps: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                display_name TEXT NOT NULL DEFAULT '',
                email TEXT NOT NULL DEFAULT '',
                groups TEXT NOT NULL DEFAULT '',
                password_hash TEXT,
                disabled INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE otp_devices (
                id TEXT PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                label TEXT NOT NULL COLLATE NOCASE,
                type TEXT NOT NULL CHECK (type IN ('totp', 'hotp', 'motp')),
                algorithm TEXT NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
                digits INTEGER NOT NULL CHECK (digits BETWEEN 6 AND 10),
                period INTEGER NOT NULL CHECK (period >= 1),
                sealed_secret BLOB NOT NULL,
                sealed_pin BLOB,
                last_accepted INTEGER NOT NULL DEFAULT -1,
                drift INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL,
                last_used_at INTEGER,
                UNIQUE (user_id, label)
            )
            """,
            "CREATE INDEX otp_devices_user ON otp_devices(user_id)",
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
        ]),
        (2, [
            """
            CREATE TABLE sessions (
                id_hash BLOB PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                created_at INTEGER NOT NULL,
                last_activity INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                client_ip TEXT NOT NULL,
                auth_level INTEGER NOT NULL,
                remember_me INTEGER NOT NULL,
                cookie_domain TEXT NOT NULL
            )
            """,
            "CREATE INDEX sessions_user ON sessions(user_id)",
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('change_generation', 0)",
        ]),
        (3, [
            """
            CREATE TABLE auth_failures (
                at INTEGER NOT NULL,
                user_name TEXT NOT NULL COLLATE NOCASE,
                client_ip TEXT NOT NULL
            )
            """,
            "CREATE INDEX auth_failures_user ON auth_failures(user_name, at)",
            "CREATE INDEX auth_failures_ip ON auth_failures(client_ip, at)",
            """
            CREATE TABLE bans (
                kind TEXT NOT NULL CHECK (kind IN ('user', 'ip')),
                value TEXT NOT NULL COLLATE NOCASE,
                created_at INTEGER NOT NULL,
                until INTEGER NOT NULL,
                PRIMARY KEY (kind, value)
            )
            """,
            """
            CREATE TABLE otp_lockouts (
                user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                locked_at INTEGER
            )
            """,
            """
            CREATE TABLE audit (
                id INTEGER PRIMARY KEY,
                at INTEGER NOT NULL,
                event TEXT NOT NULL,
                user_name TEXT NOT NULL COLLATE NOCASE,
                client_ip TEXT NOT NULL,
                reason TEXT NOT NULL
            )
            """,
            "CREATE INDEX audit_at ON audit(at)",
            "CREATE INDEX audit_user ON audit(user_name, at)",
        ]),
        (4, [
            """
            CREATE TABLE app_passwords (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                label TEXT NOT NULL COLLATE NOCASE,
                hash BLOB NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                expires_at INTEGER,
                last_used_at INTEGER,
                UNIQUE (user_id, label)
            )
            """,
        ]),
        (5, [
            // The ordered change log running servers follow (replaces the single change generation).
            """
            CREATE TABLE changes (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at INTEGER NOT NULL,
                kind TEXT NOT NULL,
                user_id INTEGER,
                session_hash BLOB
            )
            """,
            "DELETE FROM meta WHERE key = 'change_generation'",
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('changes_pruned_through', 0)",
        ]),
        // Regulation claims its place before the expensive check: an attempt is a pending row
        // until it is settled.
        (6, [
            "ALTER TABLE auth_failures ADD COLUMN pending INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX audit_retention ON audit(at, id)",
        ]),
        // Access rules: an app password says which rules it satisfies (2: two factors, as before;
        // 3: one factor only).
        (7, [
            "ALTER TABLE app_passwords ADD COLUMN auth_level INTEGER NOT NULL DEFAULT 2",
        ]),
        // Recovery codes, as HMACs under a key of their own (sealed in meta as recovery_code_key).
        (8, [
            """
            CREATE TABLE recovery_codes (
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                code_hash BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (user_id, code_hash)
            )
            """,
        ]),
        // Invitations: one-time links to set up a login (the token's SHA-256 only).
        (9, [
            """
            CREATE TABLE invitations (
                token_hash BLOB PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX invitations_user ON invitations(user_id)",
        ]),
        // HTTP Basic credentials accepted recently, shared by the instances on one store (the HMAC only).
        (10, [
            """
            CREATE TABLE basic_lingers (
                key BLOB PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                app_password_id INTEGER,
                auth_level INTEGER NOT NULL,
                accepted_at INTEGER NOT NULL,
                last_used INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                checked_after INTEGER NOT NULL
            )
            """,
            "CREATE INDEX basic_lingers_user ON basic_lingers(user_id)",
            "CREATE INDEX basic_lingers_expiry ON basic_lingers(expires_at)",
            // What changed of one user since a sequence (is a lingering credential still good?).
            "CREATE INDEX changes_user ON changes(user_id, seq)",
        ]),
    ]

    static var latestVersion: Int { steps.last?.version ?? 0 }
}
