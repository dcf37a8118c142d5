import Foundation
public import PortcullisCore
public import PortcullisPostgres
public import PortcullisStore
public import PortcullisTestSupport

/// A backend the store contract suite (this module) runs against: every contract test runs,
/// unchanged, on each of ``all``. The test target links this library, and Swift Testing finds
/// the suites here as it finds its own.
public struct StoreBackend: Sendable, CustomStringConvertible {
    public let description: String
    /// Opens a fresh, empty store; a second call with the same handle opens the same data again.
    public let open: @Sendable (TemporaryDirectory) async throws -> any Store
    /// Removes what `open` made outside the folder.
    public var remove: @Sendable (TemporaryDirectory) -> Void = { _ in }
    /// Runs one SQL statement on the store's data behind its back (as another program, or an older
    /// version, could), for tests of what the store does with rows it did not write.
    public var execute: @Sendable (TemporaryDirectory, String) throws -> Void = { _, _ in }

    public static let sqlite = StoreBackend(description: "SQLite", open: { directory in
        try await SQLiteStore.open(path: directory.file("store.sqlite3"))
    }, execute: { directory, statement in
        let result = try ProcessRunner.run("sqlite3", [directory.file("store.sqlite3"), statement])
        guard result.status == 0 else { throw StoreError(.invalidInput, "sqlite3: \(result.stderr)") }
    })

    /// A database of its own in the test cluster (``TestPostgres``), over the Unix socket.
    public static let postgres = StoreBackend(description: "PostgreSQL", open: { directory in
        try await PostgresStore.open(postgresSettings(for: directory), password: nil, leaseTimeout: testLeaseTimeout)
    }, remove: { directory in
        TestPostgres.dropDatabase(TestPostgres.databaseName(for: directory))
    }, execute: { directory, statement in
        _ = try TestPostgres.psql(statement, database: TestPostgres.databaseName(for: directory))
    })

    /// Generous: the whole suite's processes, on two cores, can keep the pool's tasks waiting for seconds.
    public static let testLeaseTimeout: Duration = .seconds(120)

    /// The settings of the test database of `directory`, which is created when it does not exist.
    public static func postgresSettings(for directory: TemporaryDirectory) throws -> PostgresSettings {
        var settings = PostgresSettings()
        settings.host = try TestPostgres.socketDirectory()
        settings.username = "postgres"
        settings.database = try TestPostgres.createDatabase(for: directory)
        settings.tls = .disable
        settings.poolSize = 4
        return settings
    }

    public static let all: [StoreBackend] = [.sqlite, .postgres]
}

/// Runs `body` with a fresh store and a temporary folder, closing and removing both afterwards.
public func withStore<T>(_ backend: StoreBackend, _ body: (any Store, TemporaryDirectory) async throws -> T) async throws -> T {
    let directory = try TemporaryDirectory()
    let store = try await backend.open(directory)
    do {
        let result = try await body(store, directory)
        try? await store.close()
        backend.remove(directory)
        directory.remove()
        return result
    } catch {
        try? await store.close()
        backend.remove(directory)
        directory.remove()
        throw error
    }
}
