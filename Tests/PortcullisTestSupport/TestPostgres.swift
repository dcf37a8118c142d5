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

public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
