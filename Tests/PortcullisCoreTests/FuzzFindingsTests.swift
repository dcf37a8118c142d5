import PortcullisCore
import Testing

/// What the fuzz targets (Fuzz/, scripts/fuzz.sh) found, each kept fixed here with the input that found it.
@Suite struct FuzzFindingsTests {
    @Test("cookie: a value holding U+037E (which Swift's Characters equate with ';') is read whole and ends at the real separator byte (cookie)")
    func greekQuestionMark() {
        let header = "a=e\u{0}x\u{37E}y; b=2"
        let value = Cookies.value(named: "a", in: header)
        #expect(value == "e\u{0}x\u{37E}y")
        #expect(value?.utf8.contains(UInt8(ascii: ";")) == false)
        #expect(Cookies.value(named: "b", in: header) == "2")
    }

    @Test("mod_authn_otp: a token type of only slashes is an unknown type, not a trap (import-mod-authn-otp)")
    func slashTokenType() {
        let key = "3132333435363738393031323334353637383930"
        let plan = ModAuthnOTPImporter.plan(usersFile: "/ alice - \(key)\n// bob - \(key)\nHOTP/T30/8/9 carol - \(key)\nHOTP/T30/8 dave - \(key)")
        #expect(plan.users.map(\.name) == ["dave"])
        #expect(plan.skipped.map(\.reason) == [
            "user alice: unknown token type '/' (known: HOTP/E, HOTP/T30, HOTP/T60/8, MOTP/T10/6, E, T)",
            "user bob: unknown token type '//' (known: HOTP/E, HOTP/T30, HOTP/T60/8, MOTP/T10/6, E, T)",
            "user carol: unknown token type 'HOTP/T30/8/9' (known: HOTP/E, HOTP/T30, HOTP/T60/8, MOTP/T10/6, E, T)",
        ])
    }

    @Test("otpauth: every URI Portcullis reads, it writes back readably; issuers with ':' are refused, spaces around them dropped (otpauth)")
    func otpauthRoundTrip() throws {
        // The input that found it (without its stray bytes): an issuer parameter with a colon, written back into the label.
        #expect(throws: CoreError.self) {
            try OTPAuthURI(parsing: "otpauth://totp/Portcul'PEisHA1&dce?secret=JBSWY3DPEHPK3PXP&issuer=otpauth:/p&algorithm=SHA1&digits=6&period=130")
        }
        #expect(throws: CoreError.self) { try OTPAuthURI(parsing: "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=a%3Ab") }
        let spaced = try OTPAuthURI(parsing: "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=%20ACME%20")
        #expect(spaced.issuer == "ACME")
        for text in ["otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=%20ACME%20",
                     "otpauth://hotp/ACME:a%3Ab?secret=JBSWY3DPEHPK3PXP&counter=3",
                     "otpauth://totp/:bob?secret=JBSWY3DPEHPK3PXP&issuer="] {
            let uri = try OTPAuthURI(parsing: text)
            #expect(try OTPAuthURI(parsing: uri.string) == uri, "\(text)")
        }
    }

    @Test("otpauth: an account is trimmed of spaces and line breaks whether or not the label names an issuer (otpauth)")
    func otpauthAccountTrimmed() throws {
        // The input that found it (2026-11-30 campaign): a label starting with a carriage return and no
        // issuer prefix kept the CR; written back with the issuer prefix, it was trimmed: another device.
        let found = "otpauth://totp/%0D[PortcullisGali%18e?secret=JBSWY3DPEHPK3PXP&issuer=Portcullialgorithm%3DSHA2&diod=30"
        let uri = try OTPAuthURI(parsing: found)
        #expect(uri.account == "[PortcullisGali\u{18}e")
        #expect(try OTPAuthURI(parsing: uri.string) == uri)
        #expect(try OTPAuthURI(parsing: "otpauth://totp/%20alice%0A?secret=JBSWY3DPEHPK3PXP").account == "alice")
        #expect(throws: CoreError.self) { try OTPAuthURI(parsing: "otpauth://totp/%20%0D?secret=JBSWY3DPEHPK3PXP") }
    }

    @Test("otpauth: issuers and accounts over 256 bytes are refused, so every URI read can be written back within 4096 characters (otpauth)")
    func otpauthNamesBounded() throws {
        // Found by the rerun after the fix above: 200 invalid UTF-8 bytes in the issuer read as U+FFFD,
        // which writes back as 9 characters each, twice: a URI Portcullis wrote and could not read.
        let replacement = String(repeating: "%EF%BF%BD", count: 200)
        #expect(throws: CoreError.self) { try OTPAuthURI(parsing: "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=A\(replacement)") }
        #expect(throws: CoreError.self) { try OTPAuthURI(parsing: "otpauth://totp/\(replacement)?secret=JBSWY3DPEHPK3PXP") }
        // At the bounds, with the longest secret read, the written URI still reads back.
        let worst = String(repeating: "%EF%BF%BD", count: OTPAuthURI.maximumNameBytes / 3)
        let secret = String(repeating: "A", count: Base32.maximumInputLength)
        let uri = try OTPAuthURI(parsing: "otpauth://totp/\(worst)?secret=\(secret)&issuer=\(worst)")
        #expect(uri.string.utf8.count <= OTPAuthURI.maximumLength)
        #expect(try OTPAuthURI(parsing: uri.string) == uri)
    }

    @Test("otpauth: the colon of a label is found even when the account starts with a combining mark (otpauth)")
    func otpauthColonBeforeCombiningMark() throws {
        // Found by the second rerun: ":" followed by U+032B is one Character, so the label's issuer was
        // not split off when the URI was read back.
        let uri = try OTPAuthURI(parsing: "otpauth://totp/ACME:%CC%ABDe?secret=JBSWY3DPEHPK3PXP")
        #expect(uri.issuer == "ACME")
        #expect(uri.account == "\u{32B}De")
        #expect(try OTPAuthURI(parsing: OTPAuthURI(issuer: "ACME", account: "\u{32B}De", secret: uri.secret).string) == uri)
        #expect(throws: CoreError.self) { try OTPAuthURI(parsing: "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=a%3A%CC%AB") }
    }

    @Test("YAML: a mapping key that is a list or a mapping is refused before Yams traps on it (config)")
    func complexKeys() throws {
        for text in ["? [a, b]\n: 1\n", "{? {a: 1}: 2}", "x: &l [1]\n*l : 2\n"] {
            #expect(throws: CoreError(.inputOutOfBounds, "the file has a mapping key that is a list or a mapping.")) {
                try BoundedYAML.load(text, what: "the file")
            }
        }
        #expect(throws: CoreError.self) { try ConfigurationLoader.load(yaml: "server:\n  ? [listen]\n  : 1\n", environment: [:], readFile: { $0 }) }
        let scalarAlias = try #require(try BoundedYAML.load("x: &k key\n*k : 2\n", what: "the file") as? [String: Any])
        #expect(scalarAlias["key"] as? Int == 2)
    }

    @Test("htpasswd: names that differ only in case keep the first line and name the others (found by import-htpasswd)")
    func htpasswdCaseDuplicates() {
        let bcrypt = "$2y$05$oCN4f9LKPkT/CqyFQNKaV.5QxA5.aPVySQntAQYpXnh1fnP8cCg6."
        let plan = HtpasswdImporter.plan("alice:\(bcrypt)\nAlice:\(bcrypt)\nALICE:\(bcrypt)\nbob:\(bcrypt)\n")
        #expect(plan.users.map(\.name) == ["alice", "bob"])
        #expect(plan.skipped.map(\.location) == ["line 2", "line 3"])
        #expect(plan.skipped.allSatisfy { $0.reason.contains("the same name as alice") })
    }

    @Test("importers take secrets of 80 to 1024 bits only, as the vault does for one device")
    func secretLengths() {
        let uris = OTPAuthImporter.plan("""
        otpauth://totp/A:alice?secret=JBSWY3DPEPK3PXP&issuer=A
        otpauth://totp/A:bob?secret=\(Base32.encode([UInt8](repeating: 1, count: 129)))
        otpauth://totp/A:carol?secret=\(Base32.encode([UInt8](repeating: 1, count: 128)))
        """)
        #expect(uris.users.map(\.name) == ["carol"])
        #expect(uris.skipped.map(\.reason) == ["the secret has 72 bits; 80 to 1024 are allowed", "the secret has 1032 bits; 80 to 1024 are allowed"])
        let long = Base32.encode([UInt8](repeating: 7, count: 200))
        #expect(SimpleOTPImporter.plan(secretFile: long, user: "solo").users.isEmpty)
        #expect(ForwardAuthTOTPImporter.plan(seeds: [(1, long)], names: [:]).users.isEmpty)
        #expect(CaddyBasicAuthTOTPImporter.plan(secretsJSON: #"{"users":[{"username":"u","secret":"\#(long)"}]}"#, hashes: ["u": "x"]).users.isEmpty)
        #expect(ModAuthnOTPImporter.plan(usersFile: "HOTP/T30 u - \(Hex.encode([UInt8](repeating: 7, count: 129)))").users.isEmpty)
    }
}
