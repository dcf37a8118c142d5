import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

/// A scripted attacker against a running `portcullis serve`, restarted in between.
@Suite("attacks on a running server", .serialized) struct AttackerTests {
    static let environment = [
        "PORTCULLIS_REGULATION_MAX_RETRIES": "3", "PORTCULLIS_REGULATION_FIND_TIME": "1h",
        "PORTCULLIS_REGULATION_BAN_TIME": "1h", "PORTCULLIS_REGULATION_MAX_OTP_FAILURES": "3",
    ]

    struct Attempt {
        let status: Int
        let retryAfter: Int?
        let body: String
    }

    /// One login through the form, from `address` (sent as X-Forwarded-For; the server trusts loopback).
    /// `jar`: the curl cookie file that keeps the session cookie.
    static func logIn(_ server: ServerProcess, user: String, password: String, code: String, from address: String,
                      jar: String = "jar-\(UUID().uuidString)") throws -> Attempt {
        let page = try server.curl(["-s", "-c", jar, "-b", jar, server.url("/login")])
        let token = try #require(page.stdout.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        let response = try server.curl(["-s", "-i", "-c", jar, "-b", jar, "-H", "X-Forwarded-For: \(address)",
                                        "--data-urlencode", "csrf=\(token)", "--data-urlencode", "username=\(user)", "--data-urlencode", "password=\(password)",
                                        "--data-urlencode", "code=\(code)", server.url("/login")]).stdout
        let status = Int(response.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
        let retryAfter = response.firstMatch(of: /(?i)retry-after: (\d+)/).flatMap { Int($0.1) }
        return Attempt(status: status, retryAfter: retryAfter, body: response)
    }

    static func code(_ secret: [UInt8]) -> String {
        OTPVerifier.code(for: TOTP.step(at: Int64(Date().timeIntervalSince1970), period: 30), secret: secret, parameters: OTPParameters())
    }

    static func addUser(_ harness: CLIHarness, _ name: String, password: String) throws -> [UInt8] {
        #expect(try harness.run(["user", "add", name, "--password-stdin"], input: password + "\n").status == 0)
        let added = try harness.run(["user", "otp", "add", name, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(added.stdout.utf8)) as? [String: Any])
        return try Base32.decode(try #require(json["secret"] as? String))
    }

    @Test("bans and lockouts hold across restarts, a used code stays used, and fail2ban's filter matches every failure line")
    func attacker() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let alice = try Self.addUser(harness, "alice", password: "alice's pass")
        let bob = try Self.addUser(harness, "bob", password: "bob's pass")
        var logs = ""
        var server = try ServerProcess(harness, environment: Self.environment)
        func restart() throws {
            server.stop()
            logs += server.log()
            server = try ServerProcess(harness, environment: Self.environment)
        }
        defer { server.stop() }

        // 1. One address gets max_retries (3) guesses, then 429 with Retry-After, even with the right credentials.
        let guesses = try ["root", "admin", "alice"].map { try Self.logIn(server, user: $0, password: "guess", code: "123456", from: "203.0.113.5") }
        #expect(guesses.map(\.status) == [401, 401, 429])
        #expect(guesses[2].retryAfter.map { (3590...3600).contains($0) } == true)
        #expect(try Self.logIn(server, user: "alice", password: "alice's pass", code: Self.code(alice), from: "203.0.113.5").status == 429)

        // 2. The ban survives a restart.
        try restart()
        let afterRestart = try Self.logIn(server, user: "alice", password: "alice's pass", code: Self.code(alice), from: "203.0.113.5")
        #expect(afterRestart.status == 429)
        #expect(afterRestart.body.contains("Too many failed attempts. Try again in"))

        // 3. A code accepted before a restart is refused after it.
        let code = Self.code(alice)
        #expect(try Self.logIn(server, user: "alice", password: "alice's pass", code: code, from: "198.51.100.20").status == 303)
        try restart()
        #expect(try Self.logIn(server, user: "alice", password: "alice's pass", code: code, from: "198.51.100.21").status == 401)

        // 4. Three wrong codes in a row lock bob; the lock outlives the ban and a restart, until `user unlock`.
        let wrong = Self.code(bob) == "000000" ? "111111" : "000000"
        let wrongs = try (1...3).map { try Self.logIn(server, user: "bob", password: "bob's pass", code: wrong, from: "198.51.100.3\($0)").status }
        #expect(wrongs == [401, 401, 429])
        #expect(try harness.run(["ban", "list"]).stdout.contains("bob"))
        #expect(try harness.run(["ban", "remove", "--user", "bob"]).stdout.contains("Lifted the ban on user bob."))
        let locked = try Self.logIn(server, user: "bob", password: "bob's pass", code: Self.code(bob), from: "198.51.100.34")
        #expect(locked.status == 403)
        #expect(locked.body.contains("This account is locked"))
        try restart()
        #expect(try Self.logIn(server, user: "bob", password: "bob's pass", code: Self.code(bob), from: "198.51.100.35").status == 403)
        #expect(try harness.run(["user", "show", "bob"]).stdout.contains("Locked:"))
        #expect(try harness.run(["user", "unlock", "bob"]).stdout.contains("Unlocked user 'bob'."))
        #expect(try Self.logIn(server, user: "bob", password: "bob's pass", code: Self.code(bob), from: "198.51.100.36").status == 303)

        // The audit trail has each step, with reasons; the CLI filters it.
        let audit = try harness.run(["audit", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        let pairs = Set(entries.map { "\($0["event"] as? String ?? ""):\($0["reason"] as? String ?? "")" })
        for expected in ["login_failed:unknown_user", "login_failed:bad_password", "login_failed:banned", "login_failed:replayed_otp",
                         "login_failed:bad_otp", "login_failed:locked", "locked:3 wrong codes", "unlocked:portcullis user unlock",
                         "ban_removed:portcullis ban remove", "login_succeeded:form"] {
            #expect(pairs.contains(expected), "no audit entry \(expected)")
        }
        let bobsOnly = try harness.run(["audit", "--user", "bob", "--since", "1h"])
        #expect(bobsOnly.stdout.contains("bob") && !bobsOnly.stdout.contains("alice"))
        #expect(try harness.run(["audit", "--since", "soon"]).status != 0)

        // 5. fail2ban's own fail2ban-regex, with the shipped filter, on what the server logged.
        server.stop()
        logs += server.log()
        let logFile = harness.file("all.log")
        try logs.write(toFile: logFile, atomically: true, encoding: .utf8)
        let failureLines = logs.split(separator: "\n").filter { $0.contains("authentication failed") }
        let successLines = logs.split(separator: "\n").filter { $0.contains("authentication succeeded") }
        // 3 + 1 (banned) in step 1, 1 (banned) in 2, 1 (replayed) in 3, 3 + 2 (locked) in 4.
        #expect(failureLines.count == 11)
        #expect(successLines.count == 2)
        guard ProcessRunner.isAvailable("fail2ban-regex") else {
            Issue.record("fail2ban-regex is missing: apt-get install fail2ban")
            return
        }
        let filter = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/fail2ban/filter.d/portcullis.conf").path
        let result = try ProcessRunner.run("fail2ban-regex", ["--print-all-matched", logFile, filter])
        #expect(result.status == 0, "\(result.combined)")
        let matched = result.stdout.firstMatch(of: /Lines: \d+ lines, \d+ ignored, (\d+) matched, (\d+) missed/)
        #expect(matched.flatMap { Int($0.1) } == failureLines.count, "\(result.stdout)")
        let matchedSection = result.stdout.components(separatedBy: "|- Matched line(s):").dropFirst().first?.components(separatedBy: "`-").first ?? ""
        let matchedLines = matchedSection.split(separator: "\n").filter { $0.contains("portcullis") }
        #expect(matchedLines.count == failureLines.count)
        #expect(matchedLines.allSatisfy { $0.contains("authentication failed") }, "a line other than a failure matched the filter")
        // The address fail2ban takes is the client's, from the line.
        #expect(matchedSection.contains("client_ip=203.0.113.5"))
    }
}
