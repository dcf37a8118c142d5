import Foundation

/// The throw-away PostgreSQL cluster `scripts/test.sh` starts (`scripts/lib/postgres-cluster.sh`):
/// `PORTCULLIS_TEST_POSTGRES` names the folder of its Unix socket. Each test gets a database of its
/// own, made by ``createDatabase(for:)`` and dropped by ``dropDatabase(_:)``.
public enum TestPostgres {
    /// The variable naming the cluster's socket folder.
    public static let variable = "PORTCULLIS_TEST_POSTGRES"

    /// The socket folder; throws, saying how to get one, when the tests run without a cluster.
    public static func socketDirectory() throws -> String {
        guard let directory = ProcessInfo.processInfo.environment[variable], !directory.isEmpty else {
            throw TestPostgresError("\(variable) is not set: run the tests with scripts/test.sh, which starts a throw-away PostgreSQL cluster, "
                + "or start one with scripts/lib/postgres-cluster.sh start DIR and set \(variable)=DIR.")
        }
        return directory
    }

    /// A database name for a test folder: the same folder gives the same database.
    public static func databaseName(for directory: TemporaryDirectory) -> String {
        "t_" + String(directory.url.lastPathComponent.lowercased().filter { $0.isLetter || $0.isNumber }.suffix(40))
    }

    /// Creates the database of `directory` unless it exists; returns its name.
    @discardableResult
    public static func createDatabase(for directory: TemporaryDirectory) throws -> String {
        let name = databaseName(for: directory)
        let exists = try psql("SELECT 1 FROM pg_database WHERE datname = '\(name)'")
        if exists.trimmingCharacters(in: .whitespacesAndNewlines) != "1" {
            _ = try psql("CREATE DATABASE \(name)")
        }
        return name
    }

    /// Drops a database, ending its connections.
    public static func dropDatabase(_ name: String) {
        _ = try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs one statement as the cluster's superuser (in `database`, by default `postgres`); its output.
    @discardableResult
    public static func psql(_ statement: String, database: String = "postgres") throws -> String {
        let output = try ProcessRunner.run("psql", ["-h", try socketDirectory(), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
                                                    "-tAc", statement])
        guard output.status == 0 else { throw TestPostgresError("psql failed (\(statement)): \(output.stderr)") }
        return output.stdout
    }
}

/// A PostgreSQL cluster of one test's own (`scripts/lib/postgres-cluster.sh`), which the test may
/// stop and start again (an outage) without disturbing the shared one; ``remove()`` stops it and
/// deletes its folder.
public struct PrivatePostgresCluster: Sendable {
    public let directory: String
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/lib/postgres-cluster.sh").path

    /// Starts a new cluster listening on a socket in a new folder, with the database `portcullis`.
    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-pg-\(UUID().uuidString.prefix(8))").path
        try start()
        let created = try ProcessRunner.run("psql", ["-h", directory, "-U", "postgres", "-d", "postgres", "-tAc", "CREATE DATABASE portcullis"])
        guard created.status == 0 else { throw TestPostgresError("psql: \(created.stderr)") }
    }

    /// Starts it (again).
    public func start() throws { try run("start") }
    /// Stops it, keeping its data: every connection to it breaks.
    public func halt() throws { try run("halt") }
    /// Stops it and deletes it.
    public func remove() {
        try? run("stop")
        try? FileManager.default.removeItem(atPath: directory + ".log")
    }

    /// Runs the script with its output in a file, not a pipe: the server it starts would hold a
    /// pipe open, and a reader waiting for its end would wait for ever.
    private func run(_ action: String) throws {
        let log = directory + ".log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.script, action, directory]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestPostgresError("postgres-cluster.sh \(action) failed: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
