import Foundation
import PortcullisTestSupport
import PortcullisPostgres
import Testing

/// The command line and the server on the PostgreSQL store of the test cluster (``TestPostgres``).
@Suite("commands and servers on PostgreSQL") struct PostgresCommandTests {
    /// The environment that points Portcullis at a new database of the test cluster.
    static func environment(_ harness: CLIHarness) throws -> [String: String] {
        [
            "PORTCULLIS_STORAGE_POSTGRES_HOST": try TestPostgres.socketDirectory(),
            "PORTCULLIS_STORAGE_POSTGRES_USERNAME": "postgres",
            "PORTCULLIS_STORAGE_POSTGRES_DATABASE": try TestPostgres.createDatabase(for: harness.directory),
            "PORTCULLIS_STORAGE_POSTGRES_TLS": "disable",
        ]
    }

    @Test("config check says which store and whether it answers; users are added to PostgreSQL; a form one server served logs in on another; the session verifies on both, and a logout on one reaches the other")
    func twoServers() throws {
        var harness = try CLIHarness()
        defer {
            TestPostgres.dropDatabase(TestPostgres.databaseName(for: harness.directory))
            harness.remove()
        }
        harness.environment.merge(try Self.environment(harness)) { $1 }
        let database = TestPostgres.databaseName(for: harness.directory)

        let empty = try harness.run(["config", "check"])
        #expect(empty.status == 0, "\(empty.combined)")
        #expect(empty.stdout.contains("store:    PostgreSQL database \(database) on the socket"), "\(empty.stdout)")
        #expect(empty.stdout.contains("(answers; empty"), "\(empty.stdout)")

        let secret = try AttackerTests.addUser(harness, "alice", password: "alice's pass")
        #expect(try TestPostgres.psql("SELECT name FROM users", database: database).contains("alice"))
        #expect(!FileManager.default.fileExists(atPath: harness.file("portcullis-data/portcullis.sqlite3")), "no SQLite file is made")
        #expect(try harness.run(["config", "check"]).stdout.contains("(answers; schema version \(PostgresStore.schemaVersion))"))

        let first = try ServerProcess(harness)
        defer { first.stop() }
        let second = try ServerProcess(harness)
        defer { second.stop() }
        #expect(first.log().contains("store: PostgreSQL database \(database)"), "\(first.log())")

        // The form comes from the second server and is posted to the first: they share the CSRF key.
        let form = try second.curl(["-s", "-c", "jar", "-b", "jar", second.url("/login")]).stdout
        let csrf = try #require(form.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        let login = try first.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-c", "jar", "-b", "jar", "--data-urlencode", "csrf=\(csrf)",
                                    "--data-urlencode", "username=alice", "--data-urlencode", "password=alice's pass",
                                    "--data-urlencode", "code=\(AttackerTests.code(secret))", first.url("/login")]).stdout
        #expect(login == "303", "\(first.log())")
        func verify(_ server: ServerProcess) throws -> String {
            try server.curl(["-s", "-b", "jar", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Host: app.localhost",
                             "-H", "X-Forwarded-URI: /", server.url("/api/authz/forward-auth")]).stdout
        }
        #expect(try verify(first) == "200")
        #expect(try verify(second) == "200", "the session made on the first server is looked up in the store: \(second.log())")

        // Logging out on the second ends the session in the store; the first learns it from the change log.
        let page = try second.curl(["-s", "-b", "jar", second.url("/logout")]).stdout
        if let token = page.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1 {
            _ = try second.curl(["-s", "-b", "jar", "-c", "jar", "--data-urlencode", "csrf=\(token)", second.url("/logout")])
        }
        #expect(try verify(second) == "401")
        var refused = false
        for _ in 0..<40 where !refused {
            refused = try verify(first) == "401"
            if !refused { usleep(50_000) }
        }
        #expect(refused, "the first server still accepts a session that ended 2 s ago")
    }

    @Test("a store that does not answer is named with the reason; backup and restore point at PostgreSQL's own tools")
    func refusals() throws {
        var harness = try CLIHarness()
        defer {
            TestPostgres.dropDatabase(TestPostgres.databaseName(for: harness.directory))
            harness.remove()
        }
        harness.environment.merge(try Self.environment(harness)) { $1 }
        _ = try AttackerTests.addUser(harness, "alice", password: "alice's pass")

        let backup = try harness.run(["storage", "backup", harness.file("copy.sqlite3")])
        #expect(backup.status != 0 && backup.stderr.contains("pg_dump"), "\(backup.combined)")
        let restore = try harness.run(["storage", "restore", harness.file("copy.sqlite3")], extraEnvironment: [:])
        #expect(restore.status != 0, "\(restore.combined)")

        let missing = try harness.run(["config", "check"], extraEnvironment: ["PORTCULLIS_STORAGE_POSTGRES_DATABASE": "no_such_database"])
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"), "\(missing.combined)")
        let nowhere = try harness.run(["user", "list"], extraEnvironment: ["PORTCULLIS_STORAGE_POSTGRES_HOST": harness.file("nowhere")])
        #expect(nowhere.status == 1 && nowhere.stderr.contains("cannot be reached"), "\(nowhere.combined)")
        let both = try harness.run(["config", "check"], extraEnvironment: ["PORTCULLIS_STORAGE_SQLITE_PATH": "x.sqlite3"])
        #expect(both.status == 1 && both.stderr.contains("configure exactly one store"), "\(both.combined)")
    }

    @Test("storage copy moves a SQLite store into PostgreSQL, where a server logs the user in, and back; it refuses a store with data and another key")
    func copy() throws {
        let harness = try CLIHarness()
        let database = try TestPostgres.createDatabase(for: harness.directory)
        defer {
            TestPostgres.dropDatabase(database)
            harness.remove()
        }
        let secret = try AttackerTests.addUser(harness, "alice", password: "alice's pass")
        #expect(try harness.run(["user", "app-password", "add", "alice", "--label", "mail"]).status == 0)
        try "storage:\n  sqlite:\n    path: portcullis-data/portcullis.sqlite3\n".write(toFile: harness.file("sqlite.yml"), atomically: true, encoding: .utf8)
        try """
            storage:
              postgres:
                host: \(try TestPostgres.socketDirectory())
                username: postgres
                database: \(database)
                tls: disable
            """.write(toFile: harness.file("postgres.yml"), atomically: true, encoding: .utf8)
        try "storage:\n  sqlite:\n    path: back/portcullis.sqlite3\n  encryption_key_file: portcullis-data/storage.key\n"
            .write(toFile: harness.file("back.yml"), atomically: true, encoding: .utf8)

        let copied = try harness.run(["storage", "copy", "--from", harness.file("sqlite.yml"), "--to", harness.file("postgres.yml")])
        #expect(copied.status == 0, "\(copied.combined)")
        #expect(copied.stdout.contains("Copied 1 user, 1 OTP device, 0 sessions, 1 app password"), "\(copied.stdout)")
        #expect(copied.stdout.contains("the counts match"))
        #expect(try TestPostgres.psql("SELECT name FROM users", database: database).contains("alice"))

        // A second copy into the same database is refused and changes nothing.
        let again = try harness.run(["storage", "copy", "--from", harness.file("sqlite.yml"), "--to", harness.file("postgres.yml")])
        #expect(again.status == 1 && again.stderr.contains("not empty"), "\(again.combined)")
        #expect(try TestPostgres.psql("SELECT count(*) FROM users", database: database).trimmingCharacters(in: .whitespacesAndNewlines) == "1")

        // A server on the copy logs alice in with her password and code.
        let server = try ServerProcess(harness, arguments: ["--config", harness.file("postgres.yml")])
        defer { server.stop() }
        let login = try AttackerTests.logIn(server, user: "alice", password: "alice's pass", code: AttackerTests.code(secret), from: "192.0.2.20")
        #expect(login.status == 303, "\(login.body.prefix(300)) \(server.log())")
        server.stop()

        let back = try harness.run(["storage", "copy", "--from", harness.file("postgres.yml"), "--to", harness.file("back.yml")])
        #expect(back.status == 0 && back.stdout.contains("Copied 1 user, 1 OTP device, 1 session, 1 app password"), "\(back.combined)")
        #expect(try harness.sql("SELECT name FROM users", database: "back/portcullis.sqlite3") == "alice\n")

        // Another storage key for the target: refused before anything is written.
        try "storage:\n  sqlite:\n    path: other/portcullis.sqlite3\n".write(toFile: harness.file("other.yml"), atomically: true, encoding: .utf8)
        let noKey = try harness.run(["storage", "copy", "--from", harness.file("sqlite.yml"), "--to", harness.file("other.yml")])
        #expect(noKey.status == 1 && noKey.stderr.contains("does not exist"), "\(noKey.combined)")
        try "storage:\n  sqlite:\n    path: other/portcullis.sqlite3\n  encryption_key_file: other.key\n"
            .write(toFile: harness.file("other.yml"), atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: harness.file("other.key"), contents: Data(String(repeating: "ab", count: 32).utf8),
                                       attributes: [.posixPermissions: 0o600])
        let wrongKey = try harness.run(["storage", "copy", "--from", harness.file("sqlite.yml"), "--to", harness.file("other.yml")])
        #expect(wrongKey.status == 1 && wrongKey.stderr.contains("is not the one"), "\(wrongKey.combined)")
        #expect(!FileManager.default.fileExists(atPath: harness.file("other/portcullis.sqlite3")))
    }
}
