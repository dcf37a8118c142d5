import PortcullisCore
import PortcullisTestSupport
import Testing

/// Values from input or the store are bounded where they enter, and arithmetic on them cannot trap.
/// Each test here crashed the process (or let a value through) before the bounds existed.
@Suite struct BoundedInputTests {
    static let secret = Array("12345678901234567890".utf8)
    static let hotp = OTPParameters(type: .hotp)

    @Test("an HOTP device at any stored counter refuses codes without trapping; none past the maximum is accepted")
    func hotpCounterNearMaximum() {
        let verifier = OTPVerifier(counterLookAhead: 4)
        for lastAccepted in [Int64.max, .max - 1, .max - 4, OTPDeviceState.maximumCounter, OTPDeviceState.maximumCounter + 3, .min, .min + 1] {
            let state = OTPDeviceState(lastAccepted: lastAccepted)
            let code = OTPVerifier.code(for: lastAccepted &+ 1, secret: Self.secret, parameters: Self.hotp)
            let verdict = verifier.verify(code: code, secret: Self.secret, parameters: Self.hotp, state: state, at: 0)
            if case .accepted = verdict, lastAccepted >= OTPDeviceState.maximumCounter {
                Issue.record("counter \(lastAccepted &+ 1) accepted past the maximum")
            }
        }
        // Up to the maximum, codes work as usual.
        let last = OTPDeviceState(lastAccepted: OTPDeviceState.maximumCounter - 2)
        let atMaximum = OTPVerifier.code(for: OTPDeviceState.maximumCounter, secret: Self.secret, parameters: Self.hotp)
        #expect(verifier.verify(code: atMaximum, secret: Self.secret, parameters: Self.hotp, state: last, at: 0)
            == .accepted(OTPAcceptance(matched: OTPDeviceState.maximumCounter, drift: 1)))
        let pastMaximum = OTPVerifier.code(for: OTPDeviceState.maximumCounter + 1, secret: Self.secret, parameters: Self.hotp)
        #expect(verifier.verify(code: pastMaximum, secret: Self.secret, parameters: Self.hotp, state: last, at: 0) == .rejected(.mismatch))
    }

    @Test("time-based codes at extreme times, drifts and window settings, and stored parameters out of range, never trap")
    func verifierExtremes() {
        var verifier = OTPVerifier()
        verifier.timeSkew = .max
        verifier.maximumDrift = .min
        verifier.counterLookAhead = .min
        for type in [OTPType.totp, .motp, .hotp] {
            for time in [Int64.max, .min, 0, -1] {
                for drift in [Int.max, .min, 0] {
                    let state = OTPDeviceState(lastAccepted: .max, drift: drift)
                    let parameters = OTPParameters(type: type)
                    _ = verifier.verify(code: "123456", secret: Self.secret, parameters: parameters, state: state, at: time, pin: "1234")
                }
            }
        }
        // A period of 0, 20 digits, or a negative digit count from a tampered store: refused, no division by zero.
        for (digits, period) in [(6, 0), (20, 30), (-1, 30), (6, -30), (Int.max, Int.min)] {
            var parameters = OTPParameters(type: .totp, digits: digits)
            parameters.period = period
            #expect(verifier.verify(code: "123456", secret: Self.secret, parameters: parameters, state: OTPDeviceState(), at: 59) == .rejected(.mismatch))
        }
        // The building blocks themselves take any number.
        #expect(HOTP.code(secret: Self.secret, counter: 1, digits: 25).count == 25)
        #expect(HOTP.code(secret: Self.secret, counter: 1, digits: -3) == "0")
        #expect(MOTP.code(secret: Self.secret, pin: "1234", step: .min, digits: -1) == "")
        #expect(TOTP.step(at: .min, period: 30) == Int64.min / 30 - 1)
        #expect(TOTP.step(at: 59, period: 0) == 59)
        #expect(TOTP.step(at: -1, period: 30) == -1 && TOTP.step(at: -30, period: 30) == -1 && TOTP.step(at: -31, period: 30) == -2)
    }

    @Test("HOTP counters from otpauth URIs and the command line stop at 2^53 − 1")
    func counterBounds() throws {
        let uri = "otpauth://hotp/Bank:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter="
        #expect(throws: CoreError.self) { try OTPAuthURI(parsing: uri + "9223372036854775807") }
        #expect(throws: CoreError.self) { try OTPAuthURI(parsing: uri + "9007199254740992") }
        #expect(try OTPAuthURI(parsing: uri + "9007199254740991").counter == 9_007_199_254_740_991)

        let plan = OTPAuthImporter.plan(uri + "9223372036854775807\n" + uri + "41")
        #expect(plan.users.map { $0.devices.map(\.state.lastAccepted) } == [[40]])
        #expect(plan.skipped.map(\.location) == ["line 1"])
        #expect(plan.skipped.first?.reason.contains("9007199254740991") == true)

        #expect(throws: CoreError.self) { try OTPDeviceState(nextCounter: .max) }
        #expect(try OTPDeviceState(nextCounter: 0).lastAccepted == -1)
        #expect(OTPDeviceState(lastAccepted: .max).nextCounter == UInt64(OTPDeviceState.maximumCounter))
        #expect(OTPDeviceState(lastAccepted: .min).nextCounter == 0)
        #expect(OTPDeviceState(lastAccepted: 6).nextCounter == 7)
    }

    @Test("mod_authn_otp offsets of ±2^63 and huge failure counts are skipped with a reason, not trapped on")
    func modAuthnOTPOffsets() throws {
        let key = "3132333435363738393031323334353637383930"
        let file = """
        HOTP/E      min     -   \(key)  -9223372036854775808
        HOTP/E      max     -   \(key)  9223372036854775807
        HOTP/E      beyond  -   \(key)  9223372036854775808
        HOTP/T30    late    -   \(key)  9223372036854775807  0  123456  2009-06-12T17:52:32L
        HOTP/T30    early   -   \(key)  -9223372036854775808  0  123456  2009-06-12T17:52:32L
        HOTP/T30    fails   -   \(key)  0  9223372036854775807
        HOTP/E      good    -   \(key)  9007199254740991
        HOTP/T30    drift   -   \(key)  -100  1  123456  2009-06-12T17:52:32L
        """
        let plan = ModAuthnOTPImporter.plan(usersFile: file)
        #expect(plan.users.map(\.name) == ["good", "drift"])
        #expect(plan.users.first?.devices.first?.state.lastAccepted == OTPDeviceState.maximumCounter - 1)
        let drifted = try #require(plan.users.last?.devices.first?.state)
        #expect(drifted.lastAccepted == Int64(1_244_829_152 / 30 - 100), "\(drifted)")
        let reasons = plan.skipped.map(\.reason)
        #expect(plan.skipped.map(\.location) == (1...6).map { "line \($0)" })
        #expect(reasons[0] == "user min: the counter offset -9223372036854775808 is not 0 to 9007199254740991")
        #expect(reasons[2] == "user beyond: the offset '9223372036854775808' is not a whole number")
        #expect(reasons[3] == "user late: the time offset 9223372036854775807 is more than 100 steps either way")
        #expect(reasons[5] == "user fails: the failure count 9223372036854775807 is not 0 to 1000000")
    }

    @Test("a Forward Auth TOTP seed whose id is not a whole number is skipped")
    func forwardAuthSeedID() {
        let plan = ForwardAuthTOTPImporter.plan(seeds: [(nil, "JBSWY3DPEHPK3PXP"), (7, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")], names: [7: "kim"])
        #expect(plan.users.map(\.name) == ["kim"])
        #expect(plan.skipped.map(\.location) == ["seed 1 (in id order)"])
    }

    @Test("durations stop at 100 years, whatever their parts add up to")
    func durations() throws {
        #expect(DurationParser.seconds("9223372036854775807s1s") == nil)
        #expect(DurationParser.seconds("9223372036854775807w") == nil)
        #expect(DurationParser.seconds("3155760000") == DurationParser.maximumSeconds)
        #expect(DurationParser.seconds("36525d") == DurationParser.maximumSeconds)
        #expect(DurationParser.seconds("36525d1s") == nil)
        #expect(DurationParser.seconds("3155760001") == nil)
        #expect(DurationParser.seconds("1h30m") == 5400)

        let error = try #require(throws: CoreError.self) {
            try ConfigurationLoader.load(yaml: nil, environment: ["PORTCULLIS_SESSION_INACTIVITY": "9223372036854775807s1s"], readFile: { $0 })
        }
        #expect(error.message.contains("session.inactivity is '9223372036854775807s1s'"))
    }

    @Test("YAML is refused when aliases expand too far, it nests too deep, or it is too long")
    func boundedYAML() throws {
        // 9^9 = 387 million values: the document that took 7 GB.
        let laughs = try #require(throws: CoreError.self) { try BoundedYAML.load(HostileYAML.laughs(levels: 9), what: "the file") }
        #expect(laughs.code == .inputOutOfBounds)
        #expect(laughs.message == "the file has more than 524288 values once its aliases are expanded.")
        // A few levels, well within the bound, still read.
        let small = try #require(try BoundedYAML.load(HostileYAML.laughs(levels: 3), what: "the file") as? [String: Any])
        #expect((small["l2"] as? [Any])?.count == 9)

        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: CoreError(.inputOutOfBounds, "the file nests lists and mappings deeper than 64 levels.")) {
            try BoundedYAML.load(deep, what: "the file")
        }
        #expect(try BoundedYAML.load(String(repeating: "[", count: 64) + String(repeating: "]", count: 64), what: "the file") != nil)
        let long = "a: \"" + String(repeating: "x", count: BoundedYAML.maximumBytes) + "\""
        #expect(throws: CoreError.self) { try BoundedYAML.load(long, what: "the file") }
        // Syntax errors are still Yams' to report.
        #expect(throws: (any Error).self) { try BoundedYAML.load("a: [", what: "the file") }
    }

    @Test("the configuration loader and the caddy-basicauth-totp importer read YAML within the bounds")
    func yamlReaders() throws {
        let configuration = HostileYAML.laughs(levels: 9) + "\nsession:\n  inactivity: 1h\n"
        let error = try #require(throws: CoreError.self) {
            try ConfigurationLoader.load(yaml: configuration, source: "portcullis.yml", environment: [:], readFile: { $0 })
        }
        #expect(error.message.contains("portcullis.yml has more than 524288 values once its aliases are expanded."))

        let plan = CaddyBasicAuthTOTPImporter.plan(secretsJSON: HostileYAML.laughs(levels: 9) + "\nusers: []\n", hashes: [:])
        #expect(plan.skipped == [ImportPlan.Skipped(location: "the secrets file", reason: "it has more than 524288 values once its aliases are expanded.")])

        // Anchors and merge keys within the bounds keep working in a configuration.
        let anchored = """
        defaults: &cookie
          portal_url: https://auth.example.com
        session:
          cookies:
            - <<: *cookie
              domain: example.com
        """
        // 'defaults' is not a key, so the file is refused, but by the key check; the merged cookie has its portal_url.
        let problems = (try #require(throws: CoreError.self) { try ConfigurationLoader.load(yaml: anchored, environment: [:], readFile: { $0 }) }).message
        #expect(problems.contains("defaults.portal_url") && !problems.contains("session.cookies.0.portal_url is missing"))
    }

    @Test("an address with a NUL byte is not read as the part before it")
    func addressWithNUL() {
        #expect(IPAddress("198.51.100.7\u{0}.evil") == nil)
        #expect(CIDR("10.0.0.0\u{0}/8") == nil)
        #expect(IPAddress("198.51.100.7") != nil)
    }

    @Test("a session with any stored times is judged without trapping")
    func sessionTimes() throws {
        let client = try #require(IPAddress("198.51.100.7"))
        let policy = SessionPolicy(inactivity: 1800, binding: .exact)
        let ancient = SessionState(userName: "alice", createdAt: .min, lastActivity: .min, expiresAt: .max, clientIP: client, cookieDomain: "example.com")
        #expect(policy.judge(ancient, persistedActivity: .min, now: 1_700_000_000, client: client, cookieDomain: "example.com") == .expired)
        let future = SessionState(userName: "alice", createdAt: 0, lastActivity: .max, expiresAt: .max, clientIP: client, cookieDomain: "example.com")
        #expect(policy.judge(future, persistedActivity: .max, now: .min + 1, client: client, cookieDomain: "example.com") == .valid(persistActivity: false))
    }

    @Test("saturating arithmetic")
    func saturating() {
        #expect(Int64.max.addingSaturating(1) == .max)
        #expect(Int64.min.addingSaturating(-1) == .min)
        #expect(Int64.min.subtractingSaturating(1) == .min)
        #expect(Int64.max.subtractingSaturating(-1) == .max)
        #expect(Int64(5).subtractingSaturating(7) == -2)
    }
}
