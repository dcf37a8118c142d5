public import CoreMetrics
public import Logging
import NIOCore
import SQLiteNIO

/// The embedded store: one SQLite file in WAL mode, foreign keys on, migrations applied at open.
///
/// sqlite-nio was chosen over GRDB because it bundles its own SQLite (no system library to install,
/// the same SQLite version everywhere), runs every call on NIO's thread pool so no event loop ever
/// blocks on disk, and belongs to the same family as postgres-nio, so both backends read alike.
/// Statements of one operation or transaction run under an ``AsyncGate`` so they never interleave.
///
/// ```swift
/// let store = try await SQLiteStore.open(path: "portcullis-data/portcullis.sqlite3", logger: logger)
/// let alice = try await store.createUser(UserRecord(name: "alice", createdAt: now))
/// ```
public final class SQLiteStore: Store {
    /// The schema version this build creates and expects (the last migration step).
    public static var schemaVersion: Int { SQLiteMigrations.latestVersion }

    let connection: SQLiteConnection
    let path: String
    private let gate = AsyncGate()
    private let timers: StoreTimers

    /// How long a statement waits for another process's write lock before failing, in milliseconds.
    public static let busyTimeoutMilliseconds = 5000

    private init(connection: SQLiteConnection, path: String, timers: StoreTimers) {
        self.connection = connection
        self.path = path
        self.timers = timers
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// - Throws: ``StoreError`` with ``StoreError/Code/unreadable`` when the file is not a database or cannot
    ///   be opened, ``StoreError/Code/locked`` when another process holds it, ``StoreError/Code/schema`` when it
    ///   was written by a newer Portcullis.
    /// - Parameter metrics: where the time each operation takes is recorded (``StoreTimers``).
    public static func open(path: String, logger: Logger = Logger(label: "portcullis.store"),
                            metrics: any MetricsFactory = NOOPMetricsHandler.instance) async throws -> SQLiteStore {
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw StoreError(.unreadable, "Cannot open the database \(path): \(Self.reason(error)). Check that its folder exists and is writable.")
        }
        let store = SQLiteStore(connection: connection, path: path, timers: StoreTimers(factory: metrics))
        do {
            _ = try await connection.query("PRAGMA busy_timeout = \(busyTimeoutMilliseconds)")
            _ = try await connection.query("PRAGMA foreign_keys = ON")
            _ = try await connection.query("PRAGMA journal_mode = WAL")
            _ = try await connection.query("PRAGMA synchronous = FULL")
            try await store.migrate()
        } catch {
            try? await connection.close()
            throw store.translate(error, doing: "open")
        }
        return store
    }

    // MARK: Running statements

    /// Runs `body` alone on the connection; the time it took, waiting included, goes to the `action` timer.
    func exclusive<T: Sendable>(_ action: String, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        defer { timers.record(action, since: start) }
        await gate.acquire()
        do {
            let result = try await body(connection)
            await gate.release()
            return result
        } catch {
            await gate.release()
            throw translate(error, doing: action)
        }
    }

    /// Runs `body` in one write transaction: every statement takes effect, or none.
    func transaction<T: Sendable>(_ action: String, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
        try await exclusive(action) { connection in
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                let result = try await body(connection)
                _ = try await connection.query("COMMIT")
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        }
    }

    private func migrate() async throws {
        try await transaction("migrate") { connection in
            _ = try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            let current = try await connection.query("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
                .first?.column("version")?.integer ?? 0
            guard current <= SQLiteMigrations.latestVersion else {
                throw StoreError(.schema, "The database \(self.path) has schema version \(current), newer than this Portcullis knows (\(SQLiteMigrations.latestVersion)). Upgrade Portcullis, or restore a backup made by this version.")
            }
            for step in SQLiteMigrations.steps where step.version > current {
                for statement in step.statements { _ = try await connection.query(statement) }
                _ = try await connection.query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))", [.integer(step.version)])
            }
        }
    }

    // MARK: Store

    public func ping() async throws {
        _ = try await exclusive("check") { try await $0.query("SELECT 1") }
    }

    public func close() async throws {
        await gate.acquire()
        defer { Task { await gate.release() } }
        try await connection.close()
    }

    /// Runs SQLite's own consistency check; "ok" when the file is sound.
    public func integrityCheck() async throws -> String {
        try await exclusive("check integrity") { connection in
            try await connection.query("PRAGMA integrity_check").map { $0.column("integrity_check")?.string ?? "" }.joined(separator: "\n")
        }
    }

    // MARK: Errors

    /// Turns SQLite's errors into ``StoreError``s that say what to do; other errors pass unchanged.
    func translate(_ error: any Error, doing action: String) -> any Error {
        guard let sqlite = error as? SQLiteError else { return error }
        switch sqlite.reason {
        case .busy, .busyTimeout, .locked, .busyInRecovery, .busyInSnapshot:
            return StoreError(.locked, "The database \(path) is locked by another process (waited \(Self.busyTimeoutMilliseconds / 1000) s). Try again when the other portcullis command has finished.")
        case .notADatabase, .corrupt, .corruptIndex, .corruptVirtualTable, .corruptSequenceSchema:
            return StoreError(.unreadable, "\(path) is not a readable Portcullis database (SQLite: \(sqlite.message)). Point storage.sqlite.path at the right file, or restore a backup.")
        case .cantOpen, .cantOpenDirectory, .cantOpenInvalidPath, .permission, .readOnly, .readonlyDirectory, .readonlyCantLock, .ioError:
            return StoreError(.unreadable, "Cannot \(action) in \(path) (SQLite: \(sqlite.message)). Check the file's permissions and free disk space.")
        default:
            return StoreError(.database, "Could not \(action) in \(path) (SQLite: \(sqlite.message)).")
        }
    }

    static func reason(_ error: any Error) -> String {
        (error as? SQLiteError)?.message ?? "\(error)"
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        guard let sqlite = error as? SQLiteError else { return false }
        switch sqlite.reason {
        case .constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed: return true
        default: return false
        }
    }
}

extension SQLiteData {
    static func bytes(_ bytes: [UInt8]) -> SQLiteData { .blob(ByteBuffer(bytes: bytes)) }
    static func optionalInteger(_ value: Int64?) -> SQLiteData { value.map { .integer(Int($0)) } ?? .null }
    static func int64(_ value: Int64) -> SQLiteData { .integer(Int(value)) }

    var bytes: [UInt8]? { blob.map { Array($0.readableBytesView) } }
}
