import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

/// `portcullis storage backup` and `restore`: an online copy of a live store, restored elsewhere.
@Suite("backup and restore", .serialized) struct BackupCommandTests {
    @Test("a backup taken while a server writes restores into a new folder, where the session still verifies and the user logs in")
    func backupWhileServing() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let phone = try AttackerTests.addUser(harness, "alice", password: "alice's password")
        let tablet = try Base32.decode(try #require(try JSONSerialization.jsonObject(with: Data(harness.run(["user", "otp", "add", "alice", "--label", "tablet", "--json"]).stdout.utf8)) as? [String: Any])["secret"] as? String ?? "")
        let server = try ServerProcess(harness)
        defer { server.stop() }
        let phoneCode = AttackerTests.code(phone)
        let login = try AttackerTests.logIn(server, user: "alice", password: "alice's password", code: phoneCode, from: "198.51.100.7")
        #expect(login.status == 303, "\(login.body)")
        let cookie = try #require(login.body.firstMatch(of: /portcullis_session=([A-Za-z0-9_-]+)/)?.1)

        // Failed HTTP Basic logins keep the server writing (attempts, failures, audit) while the backup is taken.
        let verifyURL = server.url("/api/authz/forward-auth")
        let writing = Thread {
            for _ in 0..<20 {
                _ = try? ProcessRunner.run("curl", ["-s", "--max-time", "10", "-o", "/dev/null", "-u", "mallory:wrong000000", "-H", "X-Forwarded-Proto: http",
                                                    "-H", "X-Forwarded-Host: app.localhost", "-H", "X-Forwarded-URI: /", "-H", "X-Forwarded-For: 203.0.113.9", verifyURL])
            }
        }
        writing.start()
        let backup = try harness.run(["storage", "backup", "backup.sqlite3"])
        #expect(backup.status == 0, "\(backup.combined)")
        #expect(backup.stdout.contains("1 user, 2 OTP devices, 1 session"), "\(backup.stdout)")
        #expect(backup.stdout.contains("The storage key is not in the backup"))
        while !writing.isFinished { usleep(50_000) }
        #expect(try harness.run(["storage", "backup", "backup.sqlite3"]).status != 0, "an existing file is never overwritten")
        #expect(try ProcessRunner.run("sqlite3", [harness.file("backup.sqlite3"), "PRAGMA integrity_check"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
        #expect(try ProcessRunner.run("stat", ["-c", "%a", harness.file("backup.sqlite3")]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "600")

        // A restore over the running server's store is refused.
        let busy = try harness.run(["storage", "restore", "backup.sqlite3"])
        #expect(busy.status != 0 && busy.stderr.contains("A portcullis server or command is using"), "\(busy.combined)")

        // A new folder: the restore wants the key first, then brings everything back.
        try FileManager.default.createDirectory(atPath: harness.file("new"), withIntermediateDirectories: true)
        try "storage:\n  sqlite:\n    path: data/portcullis.sqlite3\n".write(toFile: harness.file("new/portcullis.yml"), atomically: true, encoding: .utf8)
        let config = ["--config", harness.file("new/portcullis.yml")]
        let keyless = try harness.run(["storage", "restore", "backup.sqlite3"] + config)
        #expect(keyless.status != 0 && keyless.stderr.contains("storage key"), "\(keyless.combined)")
        #expect(!FileManager.default.fileExists(atPath: harness.file("new/data/portcullis.sqlite3")))
        try FileManager.default.createDirectory(atPath: harness.file("new/data"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: harness.file("portcullis-data/storage.key"), toPath: harness.file("new/data/storage.key"))
        let restored = try harness.run(["storage", "restore", "backup.sqlite3"] + config)
        #expect(restored.status == 0 && restored.stdout.contains("Restored 1 user, 2 OTP devices, 1 session"), "\(restored.combined)")

        let second = try ServerProcess(harness, arguments: config)
        defer { second.stop() }
        let verified = try second.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Host: app.localhost",
                                        "-H", "X-Forwarded-URI: /", "--cookie", "portcullis_session=\(cookie)", second.url("/api/authz/forward-auth")]).stdout
        #expect(verified == "200", "the session made before the backup verifies on the restored store: \(second.log())")
        let again = try AttackerTests.logIn(second, user: "alice", password: "alice's password", code: AttackerTests.code(tablet), from: "198.51.100.7")
        #expect(again.status == 303, "\(again.body)")
        // The phone's code used before the backup is still used up there.
        let replay = try AttackerTests.logIn(second, user: "alice", password: "alice's password", code: phoneCode, from: "198.51.100.7")
        #expect(replay.status == 401)
    }

    @Test("restore refuses what is not a Portcullis backup and a backup of another key; it keeps the store it replaces")
    func restoreChecks() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        #expect(try harness.run(["user", "add", "alice", "--no-password"]).status == 0)
        #expect(try harness.run(["storage", "backup", "first.sqlite3"]).status == 0)
        #expect(try harness.run(["user", "add", "bob", "--no-password"]).status == 0)
        try "not a database".write(toFile: harness.file("junk.sqlite3"), atomically: true, encoding: .utf8)
        let junk = try harness.run(["storage", "restore", "junk.sqlite3"])
        #expect(junk.status != 0 && junk.stderr.contains("is not a Portcullis backup"), "\(junk.combined)")
        let missing = try harness.run(["storage", "restore", "nope.sqlite3"])
        #expect(missing.status != 0 && missing.stderr.contains("does not exist"), "\(missing.combined)")

        // Another store's backup, under another key.
        try FileManager.default.createDirectory(atPath: harness.file("other"), withIntermediateDirectories: true)
        #expect(try harness.run(["user", "add", "carol", "--no-password"], in: "other").status == 0)
        #expect(try harness.run(["user", "otp", "add", "carol"], in: "other").status == 0)
        #expect(try harness.run(["storage", "backup", "../other.sqlite3"], in: "other").status == 0)
        let foreign = try harness.run(["storage", "restore", "other.sqlite3"])
        #expect(foreign.status != 0 && foreign.stderr.contains("not encrypted with this store's storage key"), "\(foreign.combined)")
        #expect(try harness.run(["user", "list"]).stdout.contains("bob"), "a refused restore changes nothing")

        let restored = try harness.run(["storage", "restore", "first.sqlite3"])
        #expect(restored.status == 0, "\(restored.combined)")
        let kept = try #require(restored.stdout.firstMatch(of: /The store it replaced is kept as (\S+)\./)?.1)
        #expect(FileManager.default.fileExists(atPath: harness.file(String(kept))))
        #expect(try harness.sql("SELECT name FROM users ORDER BY name", database: String(kept)) == "alice\nbob\n", "the replaced store is whole")
        let users = try harness.run(["user", "list"]).stdout
        #expect(users.contains("alice") && !users.contains("bob"), "\(users)")
    }
}
