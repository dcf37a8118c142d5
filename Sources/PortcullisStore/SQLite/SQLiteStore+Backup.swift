import Logging
import SQLiteNIO

/// What a store holds, for the reports of backup and restore.
public struct StoreContents: Sendable, Equatable, CustomStringConvertible {
    public let users: Int
    public let devices: Int
    public let sessions: Int

    /// "3 users, 4 OTP devices, 1 session".
    public var description: String {
        func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }
        return [count(users, "user"), count(devices, "OTP device"), count(sessions, "session")].joined(separator: ", ")
    }
}

extension SQLiteStore {
    /// Writes a consistent copy of the whole database to `path`, which must not exist, while other
    /// processes keep reading and writing (SQLite's `VACUUM INTO`: one read transaction).
    public func backup(to path: String) async throws {
        try await exclusive("back up the database") { connection in
            _ = try await connection.query("VACUUM INTO ?", [.text(path)])
        }
    }

    /// Folds the write-ahead log into the database file and empties it, so that the file alone is
    /// the whole store (before it is set aside by a restore).
    public func checkpoint() async throws {
        try await exclusive("checkpoint the database") { connection in
            _ = try await connection.query("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// What the Portcullis database in the file at `path` holds, read without migrating it; nil when
    /// it is not a Portcullis database. The caller checks that the file exists.
    public static func contents(ofFile path: String) async throws -> StoreContents? {
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: Logger(label: "portcullis.store"))
        } catch {
            return nil
        }
        let contents: StoreContents?
        do {
            let tables = Set(try await connection.query("SELECT name FROM sqlite_master WHERE type = 'table'").compactMap { $0.column("name")?.string })
            if tables.isSuperset(of: ["users", "otp_devices", "sessions", "meta"]) {
                let row = try await connection.query(
                    "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM otp_devices) AS devices, (SELECT count(*) FROM sessions) AS sessions"
                ).first
                contents = StoreContents(users: row?.column("users")?.integer ?? 0, devices: row?.column("devices")?.integer ?? 0,
                                         sessions: row?.column("sessions")?.integer ?? 0)
            } else {
                contents = nil
            }
        } catch {
            // "file is not a database" and the like.
            contents = nil
        }
        try? await connection.close()
        return contents
    }
}
