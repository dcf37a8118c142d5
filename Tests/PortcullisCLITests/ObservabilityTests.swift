import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

/// What an operator watches: Prometheus metrics on their own listener, JSON log lines with request
/// ids, and fail2ban's filter for them — all read with the real tools (Prometheus's Python parser,
/// fail2ban-regex) from a real `portcullis serve`.
@Suite("metrics and logs of a running server", .serialized) struct ObservabilityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    /// `/metrics` parsed by `prometheus_client`'s parser (scripts/lib/metrics_samples.py).
    static func scrape(_ server: ServerProcess, port: Int) throws -> (families: [String: String], samples: [Sample]) {
        let text = try server.curl(["-s", "--fail", "http://127.0.0.1:\(port)/metrics"])
        #expect(text.status == 0, "metrics listener did not answer: \(text.stderr)")
        let parsed = try ProcessRunner.run("python3", [root + "/scripts/lib/metrics_samples.py"], input: text.stdout)
        try #require(parsed.status == 0, "\(parsed.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [String: Any])
        let families = try #require(json["families"] as? [String: String])
        let samples = try #require(json["samples"] as? [[String: Any]]).map {
            Sample(name: $0["name"] as? String ?? "", labels: $0["labels"] as? [String: String] ?? [:], value: ($0["value"] as? NSNumber)?.doubleValue ?? -1)
        }
        return (families, samples)
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    @Test("metrics.listen serves Prometheus text that counts verify answers and logins; JSON log lines carry request ids and fail2ban's JSON filter matches each failure")
    func metricsAndJSONLogs() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let secret = try AttackerTests.addUser(harness, "alice", password: "alice's pass")
        let metricsPort = try ServerProcess.freePort()
        let server = try ServerProcess(harness, environment: AttackerTests.environment.merging([
            "PORTCULLIS_METRICS_LISTEN": "127.0.0.1:\(metricsPort)", "PORTCULLIS_LOG_FORMAT": "json",
        ]) { $1 })
        defer { server.stop() }

        // The metrics listener is not the gate's: the proxy's port has no /metrics.
        #expect(try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", server.url("/metrics")]).stdout != "200")

        // Two wrong passwords, one good login; then a verify with its cookie (answered by the fast
        // path), and one without a cookie on each endpoint style (answered by the router).
        for _ in 1...2 {
            #expect(try AttackerTests.logIn(server, user: "alice", password: "wrong pass", code: "123456", from: "203.0.113.9").status == 401)
        }
        let jar = "jar-alice"
        let code = AttackerTests.code(secret)
        #expect(try AttackerTests.logIn(server, user: "alice", password: "alice's pass", code: code, from: "198.51.100.4", jar: jar).status == 303)
        let forwarded = ["-H", "X-Forwarded-Host: localhost:\(server.port)", "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Uri: /app"]
        let allowed = try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", jar] + forwarded + [server.url("/api/authz/forward-auth")])
        #expect(allowed.stdout == "200")
        let anonymous = try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}"] + forwarded + [server.url("/api/authz/forward-auth")])
        #expect(anonymous.stdout == "401")  // curl is no browser: 401 with a Basic challenge
        let nginx = try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Original-URL: http://localhost:\(server.port)/app",
                                     server.url("/api/authz/auth-request")])
        #expect(nginx.stdout == "401")

        let (families, samples) = try Self.scrape(server, port: metricsPort)
        #expect(families["portcullis_verify_answers"] == "counter")
        #expect(families["portcullis_login_attempts"] == "counter")
        #expect(families["portcullis_store_operation_seconds"] == "histogram")
        #expect(Self.value(samples, "portcullis_login_attempts_total", ["outcome": "failed"]) == 2)
        #expect(Self.value(samples, "portcullis_login_attempts_total", ["outcome": "succeeded"]) == 1)
        #expect(Self.value(samples, "portcullis_login_attempts_total", ["outcome": "banned"]) == 0)
        #expect(Self.value(samples, "portcullis_verify_answers_total", ["style": "forward_auth", "outcome": "allowed"]) == 1)
        #expect(Self.value(samples, "portcullis_verify_answers_total", ["style": "forward_auth", "outcome": "login_required"]) == 1)
        #expect(Self.value(samples, "portcullis_verify_answers_total", ["style": "auth_request", "outcome": "login_required"]) == 1)
        #expect(Self.value(samples, "portcullis_sessions_live") == 1)
        #expect(Self.value(samples, "portcullis_sessions_in_memory") == 1)
        #expect(Self.value(samples, "portcullis_bans_active") == 0)
        #expect(Self.value(samples, "portcullis_password_hash_queue") == 0)
        #expect((Self.value(samples, "portcullis_password_hash_queue_capacity") ?? 0) >= 1)
        let version = try harness.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Self.value(samples, "portcullis_build_info", ["version": version]) == 1)
        #expect((Self.value(samples, "portcullis_store_operation_seconds_count", ["operation": "create_session"]) ?? 0) >= 1)
        // Label sets are fixed by the code: 2 styles × 8 outcomes, 5 login outcomes, whatever was asked.
        #expect(samples.filter { $0.name == "portcullis_verify_answers_total" }.count == 16)
        #expect(samples.filter { $0.name == "portcullis_login_attempts_total" }.count == 5)
        #expect(samples.allSatisfy { $0.name.hasPrefix("portcullis_") })

        // A third wrong password bans the address (max_retries 3). (The bans gauge is read from the
        // store at most every 10 s; MetricsSamplerTests checks its refresh with a clock it moves.)
        #expect(try AttackerTests.logIn(server, user: "alice", password: "wrong pass", code: "123456", from: "203.0.113.9").status == 429)
        #expect(try AttackerTests.logIn(server, user: "alice", password: "wrong pass", code: "123456", from: "203.0.113.9").status == 429)
        let later = try Self.scrape(server, port: metricsPort).samples
        #expect(Self.value(later, "portcullis_login_attempts_total", ["outcome": "failed"]) == 3)
        #expect(Self.value(later, "portcullis_login_attempts_total", ["outcome": "banned"]) == 1)

        #expect(server.stop() == 0)
        let log = server.log()
        let logFile = harness.file("json.log")
        try log.write(toFile: logFile, atomically: true, encoding: .utf8)

        // Every line the server wrote is one JSON object with time, level, source and message.
        let lines = log.split(separator: "\n").filter { $0.hasPrefix("{") }
        var records: [[String: Any]] = []
        for line in lines {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(record != nil, "not a JSON object: \(line)")
            records.append(record ?? [:])
        }
        #expect(records.allSatisfy { ["time", "level", "source", "message"].allSatisfy($0.keys.contains) })
        let messages = records.compactMap { $0["message"] as? String }
        #expect(messages.first?.hasPrefix("starting portcullis \(version)") == true)
        #expect(messages.last == "stopped")
        #expect(messages.contains { $0.hasPrefix("metrics at http://127.0.0.1:\(metricsPort)/metrics") })
        // Failures carry the id of their request; ids differ between requests.
        let failures = records.filter { ($0["message"] as? String)?.hasPrefix("authentication failed") == true }
        #expect(failures.count == 4)  // three wrong passwords and one refusal while banned (aggregated)
        let ids = failures.compactMap { $0["request_id"] as? String }
        #expect(ids.count == failures.count)
        #expect(Set(ids).count == ids.count)
        #expect(!log.contains("alice's pass") && !log.contains("wrong pass") && !log.contains(code))

        // fail2ban-regex with the shipped JSON filter matches exactly the failure lines, with the client's address.
        guard ProcessRunner.isAvailable("fail2ban-regex") else {
            Issue.record("fail2ban-regex is missing: apt-get install fail2ban")
            return
        }
        let result = try ProcessRunner.run("fail2ban-regex", ["--print-all-matched", logFile, Self.root + "/deploy/fail2ban/filter.d/portcullis-json.conf"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let matched = result.stdout.firstMatch(of: /Lines: \d+ lines, \d+ ignored, (\d+) matched, (\d+) missed/)
        #expect(matched.flatMap { Int($0.1) } == failures.count, "\(result.stdout)")
        let matchedSection = result.stdout.components(separatedBy: "|- Matched line(s):").dropFirst().first?.components(separatedBy: "`-").first ?? ""
        #expect(matchedSection.contains("client_ip=203.0.113.9"))
        #expect(!matchedSection.contains("authentication succeeded"))

        // The times are UTC: fail2ban on a host in another zone reads the same instant (else its
        // findtime would see every failure hours away, and ban nobody).
        var tokyo = ProcessInfo.processInfo.environment
        tokyo["TZ"] = "Asia/Tokyo"
        let verbose = try ProcessRunner.run("fail2ban-regex", ["-v", logFile, Self.root + "/deploy/fail2ban/filter.d/portcullis-json.conf"], environment: tokyo)
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let firstStamp = try #require(failures.first?["time"] as? String)
        let firstTime = try #require(parser.date(from: firstStamp))
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = TimeZone(identifier: "Asia/Tokyo")
        local.dateFormat = "MMM dd HH:mm:ss yyyy"
        #expect(verbose.stdout.contains(local.string(from: firstTime)), "\(verbose.stdout)")
    }

    @Test("a store that cannot write while HTTP Basic credentials are checked gives 503 (403 for nginx) with Retry-After, counted as unavailable, never a 500")
    func storeLockedDuringBasic() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        _ = try AttackerTests.addUser(harness, "alice", password: "alice's pass")
        let metricsPort = try ServerProcess.freePort()
        let server = try ServerProcess(harness, environment: ["PORTCULLIS_METRICS_LISTEN": "127.0.0.1:\(metricsPort)"])
        defer { server.stop() }
        // Another process holds the write lock: the attempt cannot be counted, so it cannot be checked.
        let holder = try WriteLockHolder(database: harness.file("portcullis-data/portcullis.sqlite3"))
        defer { holder.release() }

        let forwardAuth = try server.curl(["-s", "-i", "-u", "alice:alice's pass123456", "-H", "X-Forwarded-Host: localhost:\(server.port)",
                                           "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Uri: /", server.url("/api/authz/forward-auth")]).stdout
        #expect(forwardAuth.hasPrefix("HTTP/1.1 503"), "\(forwardAuth)")
        #expect(forwardAuth.lowercased().contains("retry-after: 1"))
        let authRequest = try server.curl(["-s", "-i", "-u", "alice:alice's pass123456", "-H", "X-Original-URL: http://localhost:\(server.port)/",
                                           server.url("/api/authz/auth-request")]).stdout
        #expect(authRequest.hasPrefix("HTTP/1.1 403"), "\(authRequest)")
        let samples = try Self.scrape(server, port: metricsPort).samples
        #expect(Self.value(samples, "portcullis_verify_answers_total", ["style": "forward_auth", "outcome": "unavailable"]) == 1)
        #expect(Self.value(samples, "portcullis_verify_answers_total", ["style": "auth_request", "outcome": "unavailable"]) == 1)
        #expect(server.log().contains("could not check HTTP Basic credentials"))
    }

    @Test("the metrics listener keeps a scraper's connection alive past the head deadline, and cuts one that never finishes its head")
    func metricsKeepAlive() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let metricsPort = try ServerProcess.freePort()
        let server = try ServerProcess(harness, environment: ["PORTCULLIS_METRICS_LISTEN": "127.0.0.1:\(metricsPort)", "PORTCULLIS_SERVER_HEAD_TIMEOUT": "2s"])
        defer { server.stop() }
        let scraper = try RawConnection(port: metricsPort)
        let stuck = try RawConnection(port: metricsPort)
        #expect(stuck.send("GET /metrics HTTP/1.1\r\n"))
        for _ in 0..<2 {
            #expect(scraper.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
            #expect(scraper.readResponse()?.status == 200)
            usleep(2_600_000)
        }
        #expect(stuck.closedByServer(within: 1), "a head never finished kept its connection")
    }

    @Test("a request id from the proxy is kept when it is safe to log, replaced otherwise, and sent back")
    func requestIDs() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let server = try ServerProcess(harness)
        defer { server.stop() }
        func id(sending value: String?) throws -> String? {
            let headers = try server.curl(["-s", "-D", "-", "-o", "/dev/null"] + (value.map { ["-H", "X-Request-Id: \($0)"] } ?? []) + [server.url("/login")])
            return headers.stdout.firstMatch(of: /(?i)x-request-id: ([^\r\n]+)/).map { String($0.1) }
        }
        #expect(try id(sending: "nginx-4f1c.2_a") == "nginx-4f1c.2_a")
        let made = try #require(try id(sending: nil))
        #expect(made.count == 16 && made.allSatisfy(\.isHexDigit))
        #expect(try id(sending: nil) != made)
        // A value that could forge log fields or is too long is not logged: a fresh one is made.
        // Letters end just before '[' and '{', digits before '@' and ':'; each neighbour is refused.
        for hostile in ["a b", "x]\tuser=root", String(repeating: "a", count: 65), "\"quote\"", "a@b", "a[b", "a`b", "a{b", "a:b", "a/b"] {
            let answered = try #require(try id(sending: hostile))
            #expect(answered != hostile && answered.count == 16, "\(hostile)")
        }
        #expect(try id(sending: String(repeating: "Zz09", count: 16)) == String(repeating: "Zz09", count: 16))
        server.stop()

        // A client that is no trusted proxy cannot choose the id.
        let untrusting = try ServerProcess(harness, environment: ["PORTCULLIS_SERVER_TRUSTED_PROXIES": "10.0.0.0/8"])
        defer { untrusting.stop() }
        let headers = try untrusting.curl(["-s", "-D", "-", "-o", "/dev/null", "-H", "X-Request-Id: chosen-by-client", untrusting.url("/login")])
        let answered = try #require(headers.stdout.firstMatch(of: /(?i)x-request-id: ([^\r\n]+)/).map { String($0.1) })
        #expect(answered != "chosen-by-client" && answered.count == 16)
    }
}
