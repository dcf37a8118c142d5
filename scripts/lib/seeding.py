"""Fills a Portcullis SQLite store with users and sessions directly, as fast as SQLite takes them.

The store must exist (any `portcullis` command that opens it creates it, e.g. `user add x
--no-password`) and no server may be running on it. A session is what a login would have stored:
the cookie holds 32 random bytes as 43 characters of unpadded base64url, and the store keeps only
the SHA-256 of those 32 bytes (`SessionToken.storageHash`), no key involved.

    tokens = seed(path, users=100_000, sessions=1_000_000, cookie_domain="example.com")
    tokens[i]   # the cookie value of session i, which belongs to user i % users
"""
import base64
import hashlib
import os
import sqlite3
import time

# How long ago sessions were last used is spread over this window (a tenth of the default
# session.inactivity of 1h, the interval at which activity is written back), so that the
# background activity writes run at their steady rate while the sessions are used, not all at once.
ACTIVITY_SPREAD = 360


def cookie_value(token_bytes):
    return base64.urlsafe_b64encode(token_bytes).rstrip(b"=").decode()


def storage_hash(token_bytes):
    return hashlib.sha256(token_bytes).digest()


def seed(path, users, sessions, cookie_domain, user_prefix="seeded", lifetime=12 * 3600, now=None):
    """Adds `users` users and `sessions` live sessions (session i belongs to user i % users);
    returns the cookie values, in order."""
    now = int(now if now is not None else time.time())
    database = sqlite3.connect(path, isolation_level=None)
    try:
        database.execute("PRAGMA busy_timeout = 5000")
        database.execute("PRAGMA synchronous = OFF")
        database.execute("PRAGMA cache_size = -262144")  # 256 MiB: the indexes stay in memory while filling
        columns = {row[1] for row in database.execute("PRAGMA table_info(sessions)")}
        expected = {"id_hash", "user_id", "created_at", "last_activity", "expires_at", "client_ip", "auth_level",
                    "remember_me", "cookie_domain"}
        if not expected <= columns:
            raise RuntimeError(f"the sessions table lacks {sorted(expected - columns)}: the store's schema changed; update scripts/lib/seeding.py")
        database.execute("BEGIN IMMEDIATE")
        first = database.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM users").fetchone()[0]
        database.executemany(
            "INSERT INTO users (id, name, display_name, email, groups, password_hash, disabled, created_at) "
            "VALUES (?, ?, ?, ?, 'bench', NULL, 0, ?)",
            ((first + n, f"{user_prefix}{n:06d}", f"Seeded User {n}", f"{user_prefix}{n}@example.com", now - 86400)
             for n in range(users)))
        random = os.urandom(32 * sessions)
        tokens = []

        def rows():
            for i in range(sessions):
                token = random[32 * i:32 * i + 32]
                tokens.append(cookie_value(token))
                last = now - (i * 7919) % ACTIVITY_SPREAD
                created = last - (i * 104729) % 3600
                yield (storage_hash(token), first + i % users, created, last, created + lifetime,
                       f"198.51.100.{i % 254 + 1}", 2, 0, cookie_domain)

        database.executemany(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_activity, expires_at, client_ip, auth_level, "
            "remember_me, cookie_domain) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
        database.execute("COMMIT")
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return tokens
    finally:
        database.close()
