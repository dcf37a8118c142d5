import Foundation
import PortcullisStore
import PortcullisTestSupport
import Testing

@Suite struct DatabaseFailureTests {
    @Test("a process killed in the middle of a batch of writes loses no acknowledged write")
    func killMidBatch() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("crash.sqlite3")
        for round in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Binaries.path("portcullis-store-probe"))
            process.arguments = [database, "100000"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            // Read acknowledgements until a few hundred have arrived, then kill -9 without warning.
            var acknowledged: [String] = []
            var buffer = Data()
            let target = 150 + round * 50
            while acknowledged.count < target {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                acknowledged = lines.dropLast().filter { $0.hasPrefix("ok ") }.map { String($0.dropFirst(3)) }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let rest = output.fileHandleForReading.readDataToEndOfFile()
            buffer.append(rest)
            acknowledged = String(decoding: buffer, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("ok ") }.map { String($0.dropFirst(3)) }

            let store = try await SQLiteStore.open(path: database)
            #expect(try await store.integrityCheck() == "ok")
            let names = Set(try await store.users().map(\.name))
            let lost = acknowledged.filter { !names.contains($0) }
            #expect(lost.isEmpty, "round \(round): \(lost.count) acknowledged writes lost")
            #expect(acknowledged.count >= target)
            try await store.close()
            // Start the next round from an empty table so each run writes the same names again.
            _ = try ProcessRunner.run("sqlite3", [database, "DELETE FROM users"])
        }
    }

    @Test("a file that is not a database is reported, not overwritten")
    func notADatabase() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        try FileManager.default.createDirectory(atPath: cli.file("portcullis-data"), withIntermediateDirectories: true)
        let text = String(repeating: "this is not sqlite\n", count: 300)
        try text.write(toFile: cli.file("portcullis-data/portcullis.sqlite3"), atomically: true, encoding: .utf8)
        let output = try cli.run(["user", "list"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("not a readable Portcullis database"))
        #expect(try String(contentsOfFile: cli.file("portcullis-data/portcullis.sqlite3"), encoding: .utf8) == text)
    }

    @Test("a database from a newer Portcullis is refused, and the WAL, foreign keys and schema version are in place")
    func schema() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        #expect(try cli.run(["user", "add", "alice", "--password-stdin"], input: "pass phrase\n").status == 0)
        #expect(try cli.sql("PRAGMA journal_mode").trimmingCharacters(in: .whitespacesAndNewlines) == "wal")
        #expect(try cli.sql("SELECT MAX(version) FROM schema_migrations").trimmingCharacters(in: .whitespacesAndNewlines) == String(SQLiteStore.schemaVersion))
        #expect(SQLiteStore.schemaVersion >= 4)
        // Deleting a user removes their devices (foreign keys are enforced).
        #expect(try cli.run(["user", "otp", "add", "alice"]).status == 0)
        #expect(try cli.run(["user", "remove", "alice", "--yes"]).status == 0)
        #expect(try cli.sql("SELECT COUNT(*) FROM otp_devices").trimmingCharacters(in: .whitespacesAndNewlines) == "0")

        _ = try cli.sql("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)")
        let newer = try cli.run(["user", "list"])
        #expect(newer.status != 0)
        #expect(newer.stderr.contains("schema version 99") && newer.stderr.contains("Upgrade Portcullis"))
    }

    @Test("a database locked by another process is reported after the busy timeout")
    func locked() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        #expect(try cli.run(["user", "add", "alice", "--password-stdin"], input: "pass phrase\n").status == 0)
        let holder = try WriteLockHolder(database: cli.file("portcullis-data/portcullis.sqlite3"))
        defer { holder.release() }

        let output = try cli.run(["user", "add", "bob", "--password-stdin"], input: "pass phrase\n")
        #expect(output.status != 0)
        #expect(output.stderr.contains("locked by another process"), "\(output.stderr)")
    }

    @Test("the configuration file is checked: every problem is reported at once, naming key and value")
    func configuration() throws {
        let cli = try CLIHarness()
        defer { cli.remove() }
        try """
            storage:
              sqlite:
                path: data/db.sqlite3
            totp:
              digits: 12
              algorithm: md5
            colour: blue
            """.write(toFile: cli.file("bad.yml"), atomically: true, encoding: .utf8)
        let bad = try cli.run(["user", "list", "--config", cli.file("bad.yml")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("totp.digits is '12'") && bad.stderr.contains("6 to 10"))
        #expect(bad.stderr.contains("totp.algorithm is 'md5'"))
        #expect(bad.stderr.contains("colour") && bad.stderr.contains("not a known key"))
        #expect(!FileManager.default.fileExists(atPath: cli.file("data")))

        try "storage:\n  sqlite:\n    path: data/db.sqlite3\n".write(toFile: cli.file("good.yml"), atomically: true, encoding: .utf8)
        #expect(try cli.run(["user", "add", "alice", "--password-stdin", "--config", cli.file("good.yml")], input: "pass phrase\n").status == 0)
        #expect(FileManager.default.fileExists(atPath: cli.file("data/db.sqlite3")))
        #expect(FileManager.default.fileExists(atPath: cli.file("data/storage.key")))

        let overridden = try cli.run(["user", "list", "--config", cli.file("good.yml")],
                                     extraEnvironment: ["PORTCULLIS_STORAGE_SQLITE_PATH": cli.file("other/db.sqlite3")])
        // A command that only reads creates nothing where there is no store, and says where it looked.
        #expect(overridden.status != 0 && overridden.stderr.contains("There is no Portcullis store at \(cli.file("other/db.sqlite3"))"), "\(overridden.combined)")
        #expect(!FileManager.default.fileExists(atPath: cli.file("other")))

        let missing = try cli.run(["user", "list", "--config", cli.file("nope.yml")])
        #expect(missing.status != 0 && missing.stderr.contains("does not exist"))
    }
}
