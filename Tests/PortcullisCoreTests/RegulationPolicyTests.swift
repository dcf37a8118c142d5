import PortcullisCore
import Testing

@Suite("regulation rules as pure functions") struct RegulationPolicyTests {
    let policy = RegulationPolicy(maxRetries: 5, findTime: 600, banTime: 900, maxOTPFailures: 10, maxInFlight: 1, ipv6PrefixLength: 64)

    func counts(_ kind: BanKind, failures: Int = 0, inFlight: Int = 0, bannedUntil: Int64? = nil) -> AttemptCounts {
        AttemptCounts(kind: kind, key: kind == .user ? "alice" : "203.0.113.7", failures: failures, inFlight: inFlight, bannedUntil: bannedUntil)
    }

    @Test("admission: a ban in force refuses (the longest one is named), in-flight and the remaining budget make it busy")
    func admission() {
        #expect(policy.admission(name: counts(.user), client: counts(.ip), now: 100) == .admitted)
        #expect(policy.admission(name: nil, client: counts(.ip, failures: 4), now: 100) == .admitted)
        #expect(policy.admission(name: counts(.user, inFlight: 1), client: counts(.ip), now: 100) == .busy(retryAfter: 1))
        #expect(policy.admission(name: counts(.user), client: counts(.ip, inFlight: 1), now: 100) == .busy(retryAfter: 1))
        var wide = policy
        wide.maxInFlight = 10
        #expect(wide.admission(name: counts(.user, failures: 3, inFlight: 1), client: counts(.ip), now: 100) == .admitted)
        #expect(wide.admission(name: counts(.user, failures: 3, inFlight: 2), client: counts(.ip), now: 100) == .busy(retryAfter: 1))
        #expect(policy.admission(name: counts(.user, bannedUntil: 100), client: counts(.ip), now: 100) == .admitted, "a ban ending now is over")
        #expect(policy.admission(name: counts(.user, bannedUntil: 500), client: counts(.ip, bannedUntil: 700), now: 100)
                == .banned(Ban(kind: .ip, value: "203.0.113.7", createdAt: 100, until: 700)))
    }

    @Test("bans, lockouts and Retry-After cannot overflow at the edges of Int64")
    func edges() {
        #expect(policy.banEnd(failuresInWindow: 5, now: .max - 10) == .max)
        #expect(policy.banEnd(failuresInWindow: 4, now: 0) == nil)
        #expect(Ban(kind: .ip, value: "x", createdAt: 0, until: .max).retryAfter(now: .min) == .max)
        #expect(Ban(kind: .ip, value: "x", createdAt: 0, until: .min).retryAfter(now: .max) == 1)
        #expect(policy.locks(consecutiveOTPFailures: 10))
        #expect(!policy.locks(consecutiveOTPFailures: 9))
        var off = policy
        off.maxOTPFailures = 0
        #expect(!off.locks(consecutiveOTPFailures: .max))
    }

    @Test("IPv6 clients are keyed by their prefix, IPv4 by the address")
    func clientKeys() {
        #expect(RegulationKeys.clientKey(IPAddress("203.0.113.7")!, policy: policy) == "203.0.113.7")
        #expect(RegulationKeys.clientKey(IPAddress("2001:db8:1:2:aaaa:bbbb:cccc:dddd")!, policy: policy) == "2001:db8:1:2::/64")
        var exact = policy
        exact.ipv6PrefixLength = 128
        #expect(RegulationKeys.clientKey(IPAddress("2001:db8::1")!, policy: exact) == "2001:db8::1")
        #expect(RegulationKeys.clientKey(IPAddress("::ffff:192.0.2.1")!, policy: policy) == "192.0.2.1")
    }

    @Test("otp_only turns the lockout off, whatever max_otp_failures says")
    func otpOnlyPolicy() {
        var configuration = Configuration()
        configuration.regulation.maxOTPFailures = 10
        #expect(configuration.effectiveRegulation.maxOTPFailures == 10)
        configuration.authMode = .otpOnly
        #expect(configuration.effectiveRegulation.maxOTPFailures == 0)
    }

    @Test("refusals of a banned key: one report a minute, carrying how many refusals it stands for")
    func refusalDigest() {
        var digest = RefusalDigest(interval: 60, capacity: 4)
        #expect(digest.refused(key: "a", now: 0) == RefusalDigest.Report(key: "a", count: 1))
        for second in 1..<60 { #expect(digest.refused(key: "a", now: Int64(second)) == nil) }
        #expect(digest.refused(key: "b", now: 30)?.count == 1, "keys are counted apart")
        #expect(digest.pending == ["a": 59])
        #expect(digest.refused(key: "a", now: 60) == RefusalDigest.Report(key: "a", count: 60))
        // A clock that went back does not silence a key.
        #expect(digest.refused(key: "a", now: 10)?.count == 1)
        // Bounded: many keys never grow it past its capacity.
        for key in 0..<100 { _ = digest.refused(key: "k\(key)", now: 200) }
        #expect(digest.trackedKeys <= 4)
    }

    @Test("a code outside the window but within ten minutes tells how far the clock is off; HOTP and wrong codes tell nothing")
    func clockOffset() {
        let secret = Array("12345678901234567890".utf8)
        let verifier = OTPVerifier(timeSkew: 1)
        let now: Int64 = 1_800_000_000
        let parameters = OTPParameters()
        func code(_ steps: Int64) -> String { OTPVerifier.code(for: TOTP.step(at: now, period: 30) + steps, secret: secret, parameters: parameters) }
        #expect(verifier.clockOffset(of: code(8), secret: secret, parameters: parameters, at: now) == 240)
        #expect(verifier.clockOffset(of: code(-3), secret: secret, parameters: parameters, at: now) == -90)
        #expect(verifier.clockOffset(of: code(1), secret: secret, parameters: parameters, at: now) == nil, "inside the window: not a clock problem")
        #expect(verifier.clockOffset(of: code(40), secret: secret, parameters: parameters, at: now) == nil, "20 minutes away: too far to say")
        #expect(verifier.clockOffset(of: "12", secret: secret, parameters: parameters, at: now) == nil)
        let hotp = OTPParameters(type: .hotp)
        #expect(verifier.clockOffset(of: code(8), secret: secret, parameters: hotp, at: now) == nil)
        #expect(ClockOffsetText.describe(240) == "4 minutes ahead")
        #expect(ClockOffsetText.describe(-40) == "40 seconds behind")
    }

    @Test("a client told to come back gets its place when it returns as told, once; too early or too late it does not")
    func retryLine() {
        var line = RetryLine(patience: 30, capacity: 3)
        line.promise("198.51.100.7", retryAfter: 2, now: 100)
        do { let redeemed = line.redeem("198.51.100.7", now: 100); #expect(!redeemed, "too early: it ignored Retry-After") }
        line.promise("198.51.100.7", retryAfter: 2, now: 100)
        do { let redeemed = line.redeem("198.51.100.7", now: 101); #expect(redeemed) }
        do { let redeemed = line.redeem("198.51.100.7", now: 102); #expect(!redeemed, "used up") }
        line.promise("198.51.100.8", retryAfter: 2, now: 100)
        do { let redeemed = line.redeem("198.51.100.8", now: 200); #expect(!redeemed, "too late") }
        do { let redeemed = line.redeem("203.0.113.1", now: 101); #expect(!redeemed, "never told") }
        for index in 0..<10 { line.promise("10.0.0.\(index)", retryAfter: 1, now: 300) }
        #expect(line.count <= 3)
        line.promise("edge", retryAfter: .max, now: .max - 1)
        do { let redeemed = line.redeem("edge", now: 0); #expect(!redeemed) }
    }
}
