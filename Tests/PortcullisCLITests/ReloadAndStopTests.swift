import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `SIGHUP` and `SIGTERM` sent to a real `portcullis serve`, as systemd sends them
/// (`systemctl reload`, `systemctl stop`).
@Suite("reloading and stopping a running server", .serialized) struct ReloadAndStopTests {
    /// Waits until the server's log holds `text` `count` times (or 10 s pass).
    static func waitForLog(_ server: ServerProcess, _ text: String, count: Int = 1) -> Bool {
        for _ in 0..<200 {
            if server.log().components(separatedBy: text).count - 1 >= count { return true }
            usleep(50_000)
        }
        return false
    }

    static func loginPage(_ server: ServerProcess) throws -> String {
        try server.curl(["-s", server.url("/login")]).stdout
    }

    @Test("SIGHUP applies portal text, regulation and the log level, names what needs a restart, and refuses an invalid file, keeping the old one")
    func hangup() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        _ = try AttackerTests.addUser(harness, "alice", password: "alice's pass")
        let file = harness.file("portcullis.yml")
        try "portal: {title: First door}\nregulation: {max_retries: 5}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let server = try ServerProcess(harness, arguments: ["--config", file])
        defer { server.stop() }
        #expect(try Self.loginPage(server).contains("First door"))
        #expect(try AttackerTests.logIn(server, user: "alice", password: "wrong pass", code: "123456", from: "203.0.113.20").status == 401)
        #expect(server.log().contains("authentication failed user=alice client_ip=203.0.113.20"))

        // A new title, one failure allowed, warnings only in the log, and a key that needs a restart.
        try """
            portal: {title: Second door}
            regulation: {max_retries: 1}
            log: {level: warning}
            server: {head_timeout: 20s}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        #expect(Self.waitForLog(server, "changed in the configuration, but kept as they were until a restart: server.head_timeout"))
        #expect(server.process.isRunning, "SIGHUP must not end the server")
        #expect(try Self.loginPage(server).contains("Second door"))
        #expect(try !Self.loginPage(server).contains("First door"))
        // max_retries 1: alice's one failure now fills her name's budget (503, try later), and a new
        // address is banned by its first failure (answered 429 at once) — under max_retries 5 it was a 401.
        let statuses = try [("alice", "203.0.113.22"), ("bob", "203.0.113.21"), ("carol", "203.0.113.21")].map {
            try AttackerTests.logIn(server, user: $0.0, password: "wrong pass", code: "123456", from: $0.1).status
        }
        #expect(statuses == [503, 429, 429])
        // log.level warning: failures (notice) are no longer written, and the server says so.
        #expect(!server.log().contains("client_ip=203.0.113.21"))
        #expect(server.log().contains("failed logins (logged at notice) are not written"))

        // An invalid file changes nothing.
        try "portal: {title: Third door}\nregulation: {max_retries: lots}\n".write(toFile: file, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        #expect(Self.waitForLog(server, "the configuration was not reloaded; the server goes on with the one it had."))
        #expect(server.log().contains("regulation.max_retries is 'lots'"))
        #expect(try Self.loginPage(server).contains("Second door"))
        #expect(server.process.isRunning)
        #expect(server.stop() == 0)
    }

    @Test("a SIGHUP while the server is still starting is handled once it runs, instead of ending it")
    func hangupWhileStarting() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let port = try ServerProcess.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Binaries.path("portcullis"))
        process.arguments = ["serve"]
        process.environment = harness.environment.merging(["PORTCULLIS_SERVER_LISTEN": "127.0.0.1:\(port)"]) { $1 }
        process.currentDirectoryURL = harness.directory.url
        let log = Pipe()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        // Still starting: the store is being created and the first hash made.
        usleep(300_000)
        kill(process.processIdentifier, SIGHUP)
        var healthy = false
        for _ in 0..<200 where !healthy {
            healthy = (try? ProcessRunner.run("curl", ["-sf", "-o", "/dev/null", "--max-time", "2", "http://127.0.0.1:\(port)/api/health"]))?.status == 0
            if !healthy { usleep(50_000) }
        }
        #expect(healthy && process.isRunning, "the server did not survive an early SIGHUP")
        process.terminate()
        process.waitUntilExit()
        let output = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(output.contains("reloaded the configuration"), "\(output)")
    }

    @Test("SIGTERM lets a login in flight finish and writes the activity only memory knew before the process ends")
    func stop() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let secret = try AttackerTests.addUser(harness, "alice", password: "alice's pass")
        let bobSecret = try AttackerTests.addUser(harness, "bob", password: "bob's pass")
        let server = try ServerProcess(harness)
        defer { server.stop() }
        let jar = "jar-stop"
        #expect(try AttackerTests.logIn(server, user: "alice", password: "alice's pass", code: AttackerTests.code(secret), from: "198.51.100.7", jar: jar).status == 303)
        sleep(2)
        // Used again: memory knows, the store does not yet (activity is written at most every tenth of session.inactivity).
        let verify = try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", jar, "-H", "X-Forwarded-Host: localhost:\(server.port)",
                                      "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Uri: /", server.url("/api/authz/forward-auth")])
        #expect(verify.stdout == "200")
        let database = harness.file("portcullis-data/portcullis.sqlite3")
        let before = try ProcessRunner.run("sqlite3", [database, "SELECT last_activity - created_at FROM sessions"]).stdout
        #expect(before.trimmingCharacters(in: .whitespacesAndNewlines) == "0")

        // A second login, sent just before SIGTERM: it is answered, not cut off. (Another user's: alice's
        // current code was used, and the code of her next step can fall outside her window when her first
        // login crossed a 30-s boundary and recorded a drift.)
        let bobCode = AttackerTests.code(bobSecret)
        let page = try server.curl(["-s", "-c", "jar-late", "-b", "jar-late", server.url("/login")])
        let token = try #require(page.stdout.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        let late = Process()
        late.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        late.arguments = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "-c", "jar-late", "-b", "jar-late",
                          "-H", "X-Forwarded-For: 198.51.100.8", "--data-urlencode", "csrf=\(token)", "--data-urlencode", "username=bob",
                          "--data-urlencode", "password=bob's pass", "--data-urlencode", "code=\(bobCode)", server.url("/login")]
        late.currentDirectoryURL = harness.directory.url
        let answer = Pipe()
        late.standardOutput = answer
        try late.run()
        usleep(300_000)
        let started = Date()
        #expect(server.stop() == 0)
        #expect(Date().timeIntervalSince(started) < 11, "the stop took longer than its bound")
        late.waitUntilExit()
        let lateStatus = String(decoding: answer.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // 303 when it reached the server before the stop, or a code that means "try again" (the
        // line was already closed): never a connection cut in the middle of an answer.
        #expect(lateStatus == "303" || late.terminationStatus == 7, "login racing SIGTERM: \(lateStatus), curl \(late.terminationStatus)")

        let after = try ProcessRunner.run("sqlite3", [database, "SELECT MAX(last_activity - created_at) FROM sessions"]).stdout
        #expect((Int(after.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 2, "the last activity was not written: \(after)")
        #expect(server.log().contains("wrote the last activity of"))
    }
}
