public import CoreMetrics
public import Logging
public import PortcullisCore
public import PortcullisStore
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization
import _ConnectionPoolModule

/// The shared store: one PostgreSQL database that any number of Portcullis instances use at once.
///
/// It passes the same contract tests as ``SQLiteStore``. Every writing transaction first takes one
/// transaction-scoped advisory lock (``writeLockKey``), as SQLite lets one writer in at a time: so
/// check-then-write steps (regulation counts, "not the last device", an update's old values) need no
/// further locking, and the change log's sequence numbers are assigned in commit order, which the
/// instances following it rely on. Single statements (a code's compare-and-set, a session touched,
/// an audit line) run beside them on the pool.
///
/// ```swift
/// var settings = PostgresSettings()
/// _ = settings.apply(url: "postgres://portcullis@db.internal/portcullis?sslmode=verify-full")
/// let store = try await PostgresStore.open(settings, password: password, logger: logger)
/// ```
public final class PostgresStore: Store {
    /// The schema version this build creates and expects (the last migration step).
    public static var schemaVersion: Int { PostgresMigrations.latestVersion }

    /// The advisory lock every writing transaction and every migration holds ("portcull").
    static let writeLockKey: Int64 = 8_101_820_098_873_224_300

    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    /// Where the database is, for messages (never the password).
    let place: String
    private let timers: StoreTimers
    /// How long an operation waits for a connection before it fails with ``StoreError/Code/unavailable``
    /// (the pool itself would wait a minute while the server is down).
    let leaseTimeout: Duration
    /// Raised as any instance commits a change (``changeChannel``), by ``listener``.
    public let changeSignal: ChangeSignal?
    /// Listens for the change notifications on a connection of its own, reconnecting when it breaks.
    private let listener: Task<Void, Never>

    private init(client: PostgresClient, runner: Task<Void, Never>, logger: Logger, place: String, timers: StoreTimers, leaseTimeout: Duration,
                 changeSignal: ChangeSignal, listener: Task<Void, Never>) {
        self.client = client
        self.runner = runner
        self.logger = logger
        self.place = place
        self.timers = timers
        self.leaseTimeout = leaseTimeout
        self.changeSignal = changeSignal
        self.listener = listener
    }

    /// The channel every change is announced on (`NOTIFY`, sent as its transaction commits).
    static let changeChannel = "portcullis_changes"

    /// Connects to the database of `settings` and brings its schema up to date; of several instances
    /// starting at once, one migrates and the others wait for it.
    /// - Parameters:
    ///   - password: the role's password (from the settings, or the file they name), or nil.
    ///   - metrics: where the time each operation takes is recorded (``StoreTimers``).
    ///   - leaseTimeout: how long an operation waits for a connection before it fails with
    ///     ``StoreError/Code/unavailable``.
    /// - Throws: ``StoreError`` with ``StoreError/Code/unavailable`` when the server does not answer,
    ///   ``StoreError/Code/unreadable`` when it refuses the login or has no such database,
    ///   ``StoreError/Code/schema`` when a newer Portcullis wrote the schema.
    public static func open(_ settings: PostgresSettings, password: String?, logger: Logger = Logger(label: "portcullis.store"),
                            metrics: any MetricsFactory = NOOPMetricsHandler.instance, leaseTimeout: Duration = .seconds(5)) async throws -> PostgresStore {
        let tls = try tlsConfiguration(settings)
        let place = settings.description
        try await probe(settings, password: password, tls: tls, logger: logger)
        var configuration: PostgresClient.Configuration
        if let socket = settings.unixSocketPath {
            configuration = .init(unixSocketPath: socket, username: settings.username, password: password, database: settings.database)
            configuration.tls = .disable
        } else {
            configuration = .init(host: settings.host, port: settings.port, username: settings.username, password: password,
                                  database: settings.database, tls: tls.map { $0.required ? .require($0.configuration) : .prefer($0.configuration) } ?? .disable)
        }
        configuration.options.maximumConnections = settings.poolSize
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters = sessionSettings
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runner = Task { await client.run() }
        let signal = ChangeSignal()
        let listenerConfiguration = try connectionConfiguration(settings, password: password, tls: tls)
        let listener = Task { await listen(listenerConfiguration, signal: signal, logger: logger) }
        let store = PostgresStore(client: client, runner: runner, logger: logger, place: place, timers: StoreTimers(factory: metrics),
                                  leaseTimeout: leaseTimeout, changeSignal: signal, listener: listener)
        do {
            try await store.migrate()
        } catch {
            listener.cancel()
            runner.cancel()
            throw error
        }
        return store
    }

    /// Follows ``changeChannel`` until cancelled; after each (re)connection the signal is raised
    /// once, since changes may have been committed while nobody listened.
    static func listen(_ configuration: PostgresConnection.Configuration, signal: ChangeSignal, logger: Logger) async {
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                do {
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: changeChannel) { notifications in
                            signal.signal()
                            for try await _ in notifications { signal.signal() }
                        }
                    } onCancel: {
                        connection.close().whenComplete { _ in }
                    }
                } catch {
                    if !Task.isCancelled { logger.debug("the change notifications stopped; reconnecting", metadata: ["error": "\(error)"]) }
                }
                try? await connection.close()
            } catch {
                if !Task.isCancelled { logger.debug("cannot listen for change notifications; the log is polled meanwhile", metadata: ["error": "\(error)"]) }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Connects once to the database of `settings`, changing nothing, and returns the schema version
    /// it holds (0 for a database Portcullis has not used yet), for `config check`.
    /// - Throws: ``StoreError`` saying why it does not answer.
    public static func schemaVersion(of settings: PostgresSettings, password: String?, logger: Logger = Logger(label: "portcullis.store")) async throws -> Int {
        try await probe(settings, password: password, tls: try tlsConfiguration(settings), logger: logger)
    }

    /// Settings of every connection, whatever the server's or the role's defaults: READ COMMITTED
    /// (the compare-and-set statements rely on it), and limits that keep one stuck instance from
    /// holding the write lock for every other (a transaction idle for 30 s, a statement running 60 s
    /// or waiting 30 s for a lock ends with an error).
    static let sessionSettings: [(String, String)] = [
        ("default_transaction_isolation", "read committed"),
        ("idle_in_transaction_session_timeout", "30s"),
        ("statement_timeout", "60s"),
        ("lock_timeout", "30s"),
    ]

    /// How long one attempt to connect may take.
    static let connectTimeout: Duration = .seconds(5)

    /// Connects once, alone, before the pool starts: the pool only logs why a connection failed and
    /// keeps trying, while this says at once what is wrong (no server, no database, a refused login).
    @discardableResult
    static func probe(_ settings: PostgresSettings, password: String?, tls: (configuration: TLSConfiguration, required: Bool)?, logger: Logger) async throws -> Int {
        let configuration = try connectionConfiguration(settings, password: password, tls: tls)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            defer { Task { try? await connection.close() } }
            let database = Database(connection: connection, logger: logger)
            guard try await database.row("SELECT to_regclass('schema_migrations') IS NOT NULL AS migrated")?.bool("migrated") == true else { return 0 }
            return try await database.row("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")?.int("version") ?? 0
        } catch {
            throw translate(error, doing: "connect", place: settings.description)
        }
    }

    /// The configuration of a connection of its own (the probe, the listener), as the pool's.
    static func connectionConfiguration(_ settings: PostgresSettings, password: String?,
                                        tls: (configuration: TLSConfiguration, required: Bool)?) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let socket = settings.unixSocketPath {
            configuration = .init(unixSocketPath: socket, username: settings.username, password: password, database: settings.database)
        } else {
            var mode = PostgresConnection.Configuration.TLS.disable
            if let tls {
                let context = try NIOSSLContext(configuration: tls.configuration)
                mode = tls.required ? .require(context) : .prefer(context)
            }
            configuration = .init(host: settings.host, port: settings.port, username: settings.username, password: password,
                                  database: settings.database, tls: mode)
        }
        configuration.options.connectTimeout = .seconds(Int64(connectTimeout.components.seconds))
        configuration.options.additionalStartupParameters = sessionSettings
        return configuration
    }

    /// The TLS of `settings`: nil for none, else the configuration and whether the server must offer it.
    static func tlsConfiguration(_ settings: PostgresSettings) throws -> (configuration: TLSConfiguration, required: Bool)? {
        var unchecked = TLSConfiguration.makeClientConfiguration()
        unchecked.certificateVerification = .none
        switch settings.tls {
        case .disable: return nil
        case .prefer: return (unchecked, false)
        case .require: return (unchecked, true)
        case .verifyFull:
            var checked = TLSConfiguration.makeClientConfiguration()
            if let file = settings.tlsCAFile {
                do {
                    checked.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
                } catch {
                    throw StoreError(.unreadable, "storage.postgres.tls_ca_file \(file) cannot be read as PEM certificates (\(error)).")
                }
            }
            return (checked, true)
        }
    }

    // MARK: Running statements

    /// Runs `body` on a connection of the pool; the time it took, waiting included, goes to the `action` timer.
    ///
    /// Only the wait for a connection is bounded (``leaseTimeout``): the first of the granted
    /// connection and the timer decides, once. A granted connection runs `body` to the end, never
    /// cancelled, so a write that committed is never reported as failed; a timed-out wait is
    /// cancelled and fails with ``StoreError/Code/unavailable`` (and a connection granted after it
    /// is handed back unused). The server's own limits (``sessionSettings``) bound what `body` waits for.
    func exclusive<T: Sendable>(_ action: String, _ body: @escaping @Sendable (Database) async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        defer { timers.record(action, since: start) }
        let (client, logger, leaseTimeout) = (self.client, self.logger, self.leaseTimeout)
        let lease = LeaseRace()
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        guard lease.grant() else { throw CancellationError() }
                        return try await body(Database(connection: connection, logger: logger))
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: leaseTimeout)
                    return nil
                }
                while let result = try await group.next() {
                    if let value = result {
                        group.cancelAll()  // only the timer is still running
                        return value
                    }
                    // The timer: it cancels the wait only if no connection was granted before it.
                    if lease.timeOut() { group.cancelAll() }
                }
                throw CancellationError()
            }
        } catch where lease.timedOut && (error is CancellationError || error as? ConnectionPoolError == .requestCancelled) {
            throw StoreError(.unavailable, "No connection to the \(place) within \(leaseTimeout) to \(action); check that it runs and that storage.postgres points at it.")
        } catch {
            throw translate(error, doing: action)
        }
    }

    /// Runs `body` in one transaction holding the write lock: every statement takes effect, or none.
    func transaction<T: Sendable>(_ action: String, _ body: @escaping @Sendable (Database) async throws -> T) async throws -> T {
        try await exclusive(action) { database in
            // READ COMMITTED whatever the server's default: every statement after the lock sees what
            // the lock's previous holder committed.
            try await database.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            do {
                try await database.execute("SELECT pg_advisory_xact_lock(\(Self.writeLockKey))")
                let result = try await body(database)
                try await database.execute("COMMIT")
                return result
            } catch {
                try? await database.execute("ROLLBACK")
                throw error
            }
        }
    }

    private func migrate() async throws {
        try await transaction("migrate") { database in
            try await database.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            let current = try await database.row("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")?.int("version") ?? 0
            guard current <= PostgresMigrations.latestVersion else {
                throw StoreError(.schema, "The \(self.place) has schema version \(current), newer than this Portcullis knows (\(PostgresMigrations.latestVersion)). Upgrade Portcullis on every instance.")
            }
            for step in PostgresMigrations.steps where step.version > current {
                for statement in step.statements { try await database.execute(PostgresQuery(unsafeSQL: statement)) }
                try await database.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (\(step.version), \(unescaped: Self.now))")
            }
        }
    }

    /// The database's clock, in whole seconds since 1970 (SQL).
    static let now = "CAST(extract(epoch FROM now()) AS BIGINT)"

    // MARK: Store

    public func ping() async throws {
        try await exclusive("check") { try await $0.execute("SELECT 1") }
    }

    public func close() async throws {
        listener.cancel()
        runner.cancel()
        await listener.value
        await runner.value
    }

    /// The schema version the database holds.
    public func storedSchemaVersion() async throws -> Int {
        try await exclusive("read the schema version") { database in
            try await database.row("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")?.int("version") ?? 0
        }
    }

    // MARK: Errors

    /// Turns PostgreSQL's errors into ``StoreError``s that say what to do; other errors (a
    /// ``StoreError``, one thrown by a caller's closure) pass unchanged.
    func translate(_ error: any Error, doing action: String) -> any Error {
        Self.translate(error, doing: action, place: place)
    }

    static func translate(_ error: any Error, doing action: String, place: String) -> any Error {
        if error is PostgresDecodingError {
            return StoreError(.schema, "The \(place) holds a value this Portcullis cannot read while trying to \(action); was the schema changed by hand?")
        }
        if let pool = error as? ConnectionPoolError, pool == .connectionCreationCircuitBreakerTripped || pool == .poolShutdown {
            return StoreError(.unavailable, "The \(place) cannot be reached (no connection for a while); check that it runs and that storage.postgres points at it.")
        }
        guard let psql = error as? PSQLError else { return error }
        if let state = psql.serverInfo?[.sqlState] {
            let message = psql.serverInfo?[.message] ?? state
            switch state {
            case "28P01", "28000":
                return StoreError(.unreadable, "The \(place) refused the login (\(message)). Check storage.postgres.username and the password (PORTCULLIS_STORAGE_POSTGRES_PASSWORD or storage.postgres.password_file).")
            case "3D000":
                return StoreError(.unreadable, "The \(place) does not exist (\(message)). Create it and give it to the role, as PostgreSQL's superuser: createdb -O ROLE DATABASE")
            case "42501":
                return StoreError(.unreadable, "The role may not \(action) in the \(place) (\(message)). Make it the database's owner, or grant it the rights on the schema.")
            case "40P01", "40001", "55P03":
                return StoreError(.locked, "Could not \(action) in the \(place): \(message). Try again.")
            case "53300", "57P01", "57P02", "57P03":
                return StoreError(.unavailable, "The \(place) is not accepting connections (\(message)); try again in a moment.")
            default:
                if state.hasPrefix("08") {
                    return StoreError(.unavailable, "The connection to the \(place) failed (\(message)); try again in a moment.")
                }
                return StoreError(.database, "Could not \(action) in the \(place) (PostgreSQL \(state): \(message)).")
            }
        }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown:
            return StoreError(.unavailable, "The \(place) cannot be reached (\(psql.code)); check that it runs and that storage.postgres points at it.")
        case .sslUnsupported:
            return StoreError(.unavailable, "The \(place) does not offer TLS, which storage.postgres.tls (\"require\" or \"verify-full\") asks for.")
        case .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return StoreError(.unavailable, "TLS to the \(place) failed (\(psql.code)); check storage.postgres.tls and the server's certificate.")
        case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
            return StoreError(.unreadable, "The \(place) asks for a password Portcullis does not have or cannot use (\(psql.code)). Set PORTCULLIS_STORAGE_POSTGRES_PASSWORD or storage.postgres.password_file.")
        default:
            return StoreError(.database, "Could not \(action) in the \(place) (\(psql.code)).")
        }
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }
}

/// Which came first for one operation: a connection from the pool, or the end of the wait.
final class LeaseRace: Sendable {
    private enum State { case waiting, granted, timedOut }
    private let state = Mutex(State.waiting)

    /// A connection arrived: true when it is in time (the operation runs), false when the wait had ended.
    func grant() -> Bool { state.withLock { if $0 == .waiting { $0 = .granted }; return $0 == .granted } }
    /// The wait is over: true when no connection had arrived (the wait is to be cancelled).
    func timeOut() -> Bool { state.withLock { if $0 == .waiting { $0 = .timedOut }; return $0 == .timedOut } }
    var timedOut: Bool { state.withLock { $0 == .timedOut } }
}

/// One connection of the pool, with the logger its statements log to.
struct Database {
    let connection: PostgresConnection
    let logger: Logger

    /// Every row of the result.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await connection.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    /// The first row, if any.
    func row(_ query: PostgresQuery) async throws -> PostgresRandomAccessRow? {
        try await rows(query).first
    }

    /// Runs a statement, ignoring what it returns.
    func execute(_ query: PostgresQuery) async throws {
        _ = try await connection.query(query, logger: logger).collect()
    }
}

extension PostgresRandomAccessRow {
    func int64(_ column: String) throws -> Int64 { try self[column].decode(Int64.self) }
    func optionalInt64(_ column: String) throws -> Int64? { try self[column].decode(Int64?.self) }
    func int(_ column: String) throws -> Int { try self[column].decode(Int.self) }
    func string(_ column: String) throws -> String { try self[column].decode(String.self) }
    func optionalString(_ column: String) throws -> String? { try self[column].decode(String?.self) }
    func bool(_ column: String) throws -> Bool { try self[column].decode(Bool.self) }
    func bytes(_ column: String) throws -> [UInt8] { Array(try self[column].decode(ByteBuffer.self).readableBytesView) }
    func optionalBytes(_ column: String) throws -> [UInt8]? { try self[column].decode(ByteBuffer?.self).map { Array($0.readableBytesView) } }
}

/// Bytes as a `BYTEA` parameter.
func bytea(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

/// Text as PostgreSQL stores it: it cannot hold NUL, which a request may carry (a login name, an
/// address); those become U+FFFD, so an attacker's odd name is recorded rather than failing the write.
func storable(_ text: String) -> String {
    text.utf8.contains(0) ? String(text.map { $0 == "\0" ? "\u{FFFD}" : $0 }) : text
}
