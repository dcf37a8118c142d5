import PortcullisCore
import Testing

@Suite struct ImporterTests {
    static let rfcKeyHex = "3132333435363738393031323334353637383930"  // "12345678901234567890"

    @Test("mod_authn_otp's users file: every token type, PINs, counters, drift, failure counts and timestamps")
    func modAuthnOTP() throws {
        let file = """
        # Token type    Username    PIN     Secret key                                  Offset  Fails  Last OTP  Time                  IP
        HOTP/E          alice       -       \(Self.rfcKeyHex)   5
        HOTP/T30        bob         1234    \(Self.rfcKeyHex)   -1      2      755224    2009-06-12T17:52:32L  192.168.1.1
        HOTP/T60/8      carol       +       \(Self.rfcKeyHex)   0
        MOTP/T10/6      dave        9876    0123456789abcdef                            0       287082    2009-06-12T17:52:32L
        E               erin        -       \(Self.rfcKeyHex)
        T               frank       -       \(Self.rfcKeyHex)
        XOTP/T30        mallory     -       \(Self.rfcKeyHex)
        HOTP/T30        short       -       abcd
        HOTP/T30        nopin       +       \(Self.rfcKeyHex)
        """
        let plan = ModAuthnOTPImporter.plan(usersFile: file, pinHashes: ["carol": "$2y$05$abcdefghijklmnopqrstuu5s2v8.iWn6p4fkjKu4B5tmv5Yt/qTfC"])
        let users = Dictionary(uniqueKeysWithValues: plan.users.map { ($0.name, $0) })
        #expect(users.keys.sorted() == ["alice", "bob", "carol", "dave", "erin", "frank"])
        let secret = Array("12345678901234567890".utf8)

        let alice = try #require(users["alice"]?.devices.first)
        #expect(alice.parameters == OTPParameters(type: .hotp, digits: 6))
        #expect(alice.secret == secret)
        #expect(alice.state.lastAccepted == 4, "offset 5 is the next counter")
        #expect(users["alice"]?.password == nil && users["alice"]?.passwordHash == nil)

        let bob = try #require(users["bob"])
        #expect(bob.password == "1234")
        #expect(bob.otpFailures == 2)
        #expect(bob.devices[0].parameters == OTPParameters(type: .totp, digits: 6, period: 30))
        #expect(bob.devices[0].state.drift == -1)
        #expect(bob.devices[0].lastUsedAt == 1_244_829_152)
        #expect(bob.devices[0].state.lastAccepted == 1_244_829_152 / 30 - 1, "the step of the last code cannot be used again")

        #expect(users["carol"]?.passwordHash?.hasPrefix("$2y$") == true)
        #expect(users["carol"]?.devices[0].parameters == OTPParameters(type: .totp, digits: 8, period: 60))

        let dave = try #require(users["dave"]?.devices.first)
        #expect(dave.parameters.type == .motp && dave.parameters.period == 10 && dave.pin == "9876")
        #expect(users["dave"]?.password == nil, "an mOTP PIN is the token's, not a password")
        #expect(dave.lastUsedAt == 1_244_829_152)

        #expect(users["erin"]?.devices[0].parameters == OTPParameters(type: .hotp, digits: 6))
        #expect(users["frank"]?.devices[0].parameters == OTPParameters(type: .totp, digits: 6, period: 30))

        let reasons = plan.skipped.map(\.reason).joined(separator: "\n")
        #expect(plan.skipped.count == 3)
        #expect(reasons.contains("mallory: unknown token type 'XOTP/T30'"))
        #expect(reasons.contains("short: the key is not hex"))
        #expect(reasons.contains("nopin: PIN '+' needs the user's hash from --pins-htpasswd"))
    }

    @Test("htpasswd: bcrypt kept, weaker schemes skipped naming the user")
    func htpasswd() {
        let bcrypt = "$2y$05$abcdefghijklmnopqrstuu5s2v8.iWn6p4fkjKu4B5tmv5Yt/qTfC"
        let plan = HtpasswdImporter.plan("alice:\(bcrypt)\nbob:$apr1$xyz$abcdefghijklmnopqrstuv\ncarol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n\n# comment\nbroken\n")
        #expect(plan.users == [ImportPlan.User(name: "alice", passwordHash: bcrypt)])
        let reasons = plan.skipped.map(\.reason)
        #expect(reasons.contains { $0.contains("bob") && $0.contains("apr1") })
        #expect(reasons.contains { $0.contains("carol") && $0.contains("SHA-1") })
        #expect(plan.skipped.count == 3)
    }

    @Test("caddy-basicauth-totp: secrets JSON with code_length, hashes from htpasswd or a Caddyfile's basic_auth block")
    func caddy() {
        let bcrypt = "$2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG"
        let caddyfile = """
        example.com {
        \tbasic_auth {
        \t\talice \(bcrypt)
        \t\tbob \(bcrypt)
        \t\tcarol \(Base64.encode(Array(bcrypt.utf8)))
        \t\tdan \(Base64.encode(Array("plain text".utf8)))
        \t}
        \treverse_proxy localhost:8080
        }
        """
        let hashes = CaddyfileBasicAuth.hashes(caddyfile)
        #expect(hashes == ["alice": bcrypt, "bob": bcrypt, "carol": bcrypt], "a Base64-encoded bcrypt hash (older Caddy 2) is decoded; other Base64 is not a hash")
        let json = #"{"users":[{"username":"alice","secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","code_length":8},{"username":"bob","secret":"not base32!"},{"username":"zed","secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}]}"#
        let plan = CaddyBasicAuthTOTPImporter.plan(secretsJSON: json, hashes: hashes)
        #expect(plan.users.map(\.name) == ["alice"])
        #expect(plan.users[0].devices[0].parameters.digits == 8)
        #expect(plan.users[0].devices[0].secret == Array("12345678901234567890".utf8))
        #expect(plan.users[0].passwordHash == bcrypt)
        #expect(plan.skipped.map(\.location) == ["users[1]", "users[2]"])
        #expect(CaddyBasicAuthTOTPImporter.plan(secretsJSON: "[1, 2]", hashes: [:]).skipped.count == 1)
    }

    @Test("Forward Auth TOTP seeds, simpleotp's secret and otpauth URIs")
    func others() {
        let seeds = ForwardAuthTOTPImporter.plan(seeds: [(1, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), (2, "JBSWY3DPEHPK3PXP"), (5, "bad!")], names: [2: "bob"])
        #expect(seeds.users.map(\.name) == ["user1", "bob"])
        #expect(seeds.skipped.map(\.location) == ["seed 5"])
        let simple = SimpleOTPImporter.plan(secretFile: "JBSWY3DPEHPK3PXP\n", user: "solo")
        #expect(simple.users.map(\.name) == ["solo"] && simple.users[0].devices[0].secret == (try? Base32.decode("JBSWY3DPEHPK3PXP")))
        #expect(SimpleOTPImporter.plan(secretFile: "", user: "solo").users.isEmpty)
        let uris = OTPAuthImporter.plan("""
        otpauth://totp/Authelia:alice?secret=JBSWY3DPEHPK3PXP&issuer=Authelia&algorithm=SHA256&digits=8&period=60
        otpauth://hotp/Bank:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=7&issuer=Bank
        https://example.com/not-a-uri
        """)
        #expect(uris.users.map(\.name) == ["alice"])
        #expect(uris.users[0].devices.map(\.label) == ["authelia", "bank"])
        #expect(uris.users[0].devices[0].parameters == OTPParameters(type: .totp, algorithm: .sha256, digits: 8, period: 60))
        #expect(uris.users[0].devices[1].state.lastAccepted == 6)
        #expect(uris.skipped.map(\.location) == ["line 3"])
    }
}
