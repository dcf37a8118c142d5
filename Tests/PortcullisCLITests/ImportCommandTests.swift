import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite("import and export commands", .serialized) struct ImportCommandTests {
    /// oathtool's code for a hex key now.
    static func oathtool(_ arguments: [String]) throws -> String {
        try ProcessRunner.run("oathtool", arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("mod_authn_otp: a dry run changes nothing; the import is all or nothing; imported users log in with oathtool's codes, over Basic and the form",
          .enabled(if: ProcessRunner.isAvailable("oathtool") && ProcessRunner.isAvailable("htpasswd"), "needs oathtool and htpasswd"))
    func modAuthnOTP() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let aliceKey = "3132333435363738393031323334353637383930"
        let carolKey = "00112233445566778899aabbccddeeff00112233"
        let htpasswd = try ProcessRunner.run("htpasswd", ["-nbB", "-C", "5", "carol", "carol's password"]).stdout
        try htpasswd.write(toFile: harness.file("pins.htpasswd"), atomically: true, encoding: .utf8)
        let users = """
        # written by mod_authn_otp
        HOTP/T30    alice   4711     \(aliceKey) 0 0
        HOTP/T30/8  carol   +        \(carolKey) 0
        HOTP/E      dave    -        \(aliceKey) 3
        XOTP/T30    eve     -        \(aliceKey)
        """
        try users.write(toFile: harness.file("users.otp"), atomically: true, encoding: .utf8)

        let dry = try harness.run(["import", "mod-authn-otp", "users.otp", "--pins-htpasswd", "pins.htpasswd", "--dry-run"])
        #expect(dry.status == 0, "\(dry.combined)")
        #expect(dry.stdout.contains("create alice: PIN becomes the password"))
        #expect(dry.stdout.contains("create carol: password hash kept"))
        #expect(dry.stdout.contains("skip line 5: user eve: unknown token type"))
        #expect(dry.stdout.contains("Dry run: nothing was changed. There is no store at portcullis-data/portcullis.sqlite3 yet"), "\(dry.stdout)")
        #expect(dry.stdout.contains("importing would create it with 3 users (1 entries skipped)"))
        #expect(!FileManager.default.fileExists(atPath: harness.file("portcullis-data")), "a dry run created a store")

        // A name that exists stops the whole import.
        #expect(try harness.run(["user", "add", "dave", "--no-password"]).status == 0)
        let compared = try harness.run(["import", "mod-authn-otp", "users.otp", "--pins-htpasswd", "pins.htpasswd", "--dry-run"])
        #expect(compared.stdout.contains("Dry run: nothing was changed. 3 users would be created, 1 entries skipped."), "\(compared.stdout)")
        #expect(try harness.run(["user", "list"]).stdout.contains("alice") == false)
        let conflict = try harness.run(["import", "mod-authn-otp", "users.otp", "--pins-htpasswd", "pins.htpasswd"])
        #expect(conflict.status != 0)
        #expect(conflict.stderr.contains("Nothing was imported"))
        #expect(try !harness.run(["user", "list"]).stdout.contains("alice"))
        #expect(try harness.run(["user", "remove", "dave", "--yes"]).status == 0)

        let real = try harness.run(["import", "mod-authn-otp", "users.otp", "--pins-htpasswd", "pins.htpasswd"])
        #expect(real.stdout.contains("Imported 3 users."), "\(real.combined)")
        // Secrets are stored encrypted: the key's hex is nowhere in the database file.
        let database = try Data(contentsOf: URL(fileURLWithPath: harness.file("portcullis-data/portcullis.sqlite3")))
        #expect(database.range(of: Data("12345678901234567890".utf8)) == nil)

        let server = try ServerProcess(harness)
        defer { server.stop() }
        // alice over HTTP Basic: PIN followed by oathtool's code.
        let aliceCode = try Self.oathtool(["--totp", aliceKey])
        let basic = try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:4711\(aliceCode)", "-H", "X-Forwarded-Proto: http",
                                     "-H", "X-Forwarded-Host: dav.localhost", "-H", "X-Forwarded-URI: /", server.url("/api/authz/forward-auth")])
        #expect(basic.stdout == "200", "\(server.log())")
        // carol through the form, with her htpasswd password and an 8-digit code.
        let carolCode = try Self.oathtool(["--totp", "--digits=8", carolKey])
        let form = try AttackerTests.logIn(server, user: "carol", password: "carol's password", code: carolCode, from: "198.51.100.7")
        #expect(form.status == 303, "\(form.body)")
        // dave's HOTP counter carried over: counter 3 is the next one (PIN '-' users have no password:
        // they log in with auth.mode: otp_only, or after portcullis user passwd).
        let dave = try harness.run(["user", "otp", "export", "--format", "csv", "--user", "dave"])
        #expect(dave.stdout.contains("dave,mod-authn-otp,hotp,sha1,6,30,3,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,"), "\(dave.combined)")
    }

    @Test("htpasswd, otpauth and simpleotp imports, and the export reads back",
          .enabled(if: ProcessRunner.isAvailable("htpasswd") && ProcessRunner.isAvailable("oathtool"), "needs htpasswd and oathtool"))
    func otherImportsAndExport() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let bcrypt = try ProcessRunner.run("htpasswd", ["-nbB", "-C", "5", "frank", "frank's pw"]).stdout
        try (bcrypt + "gina:$apr1$abc$defghijklmnopqrstuvwxy\n").write(toFile: harness.file("users.htpasswd"), atomically: true, encoding: .utf8)
        let htpasswd = try harness.run(["import", "htpasswd", "users.htpasswd"])
        #expect(htpasswd.stdout.contains("Imported 1 user."), "\(htpasswd.combined)")
        #expect(htpasswd.stdout.contains("skip line 2: user gina: a apr1 (MD5) hash") || htpasswd.stdout.contains("user gina"))

        // With --allow-weak the apr1 user comes over and logs in once with the old password; that login stores scrypt.
        let apr1 = try ProcessRunner.run("htpasswd", ["-nbm", "gina", "gina's pw"]).stdout
        try apr1.write(toFile: harness.file("weak.htpasswd"), atomically: true, encoding: .utf8)
        #expect(try harness.run(["import", "htpasswd", "weak.htpasswd"]).status != 0, "refused without --allow-weak")
        #expect(try harness.run(["import", "htpasswd", "weak.htpasswd", "--allow-weak"]).stdout.contains("Imported 1 user."))
        #expect(try harness.run(["user", "otp", "add", "gina", "--secret", "JBSWY3DPEHPK3PXP"]).status == 0)
        do {
            let server = try ServerProcess(harness)
            defer { server.stop() }
            let code = OTPVerifier.code(for: TOTP.step(at: Int64(Date().timeIntervalSince1970), period: 30), secret: try Base32.decode("JBSWY3DPEHPK3PXP"), parameters: OTPParameters())
            let login = try AttackerTests.logIn(server, user: "gina", password: "gina's pw", code: code, from: "198.51.100.8")
            #expect(login.status == 303, "\(login.body)")
        }
        #expect(try harness.sql("SELECT password_hash FROM users WHERE name = 'gina'").hasPrefix("$scrypt$"))

        try "otpauth://totp/Authelia:hana?secret=JBSWY3DPEHPK3PXP&issuer=Authelia\n".write(toFile: harness.file("uris.txt"), atomically: true, encoding: .utf8)
        let hana = try harness.run(["import", "otpauth", "uris.txt"]).stdout
        #expect(hana.contains("Imported 1 user.") && hana.contains("1 user has no password yet; set one with:\n  portcullis user passwd hana"), "\(hana)")
        // --skip-existing imports the others when some exist already.
        try "otpauth://totp/Authelia:hana?secret=JBSWY3DPEHPK3PXP&issuer=Authelia\notpauth://totp/Authelia:iris?secret=JBSWY3DPEHPK3PXP&issuer=Authelia\n"
            .write(toFile: harness.file("more.txt"), atomically: true, encoding: .utf8)
        #expect(try harness.run(["import", "otpauth", "more.txt"]).stderr.contains("or add --skip-existing"))
        let skipping = try harness.run(["import", "otpauth", "more.txt", "--skip-existing"])
        #expect(skipping.stdout.contains("skip: a user named 'hana' exists already") && skipping.stdout.contains("Imported 1 user."), "\(skipping.combined)")
        #expect(try harness.run(["user", "remove", "iris", "--yes"]).status == 0)
        try "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n".write(toFile: harness.file(".totp_secret"), atomically: true, encoding: .utf8)
        #expect(try harness.run(["import", "simpleotp", ".totp_secret", "--user", "ivan"]).stdout.contains("Imported 1 user."))

        // hana (otpauth) and ivan (simpleotp) log in with oathtool's codes over Basic, in otp_only mode (they have no password).
        do {
            let server = try ServerProcess(harness, environment: ["PORTCULLIS_AUTH_MODE": "otp_only"])
            defer { server.stop() }
            for (user, secret) in [("hana", "JBSWY3DPEHPK3PXP"), ("ivan", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")] {
                let code = try Self.oathtool(["--totp", "-b", secret])
                let basic = try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "\(user):\(code)", "-H", "X-Forwarded-Proto: http",
                                             "-H", "X-Forwarded-Host: dav.localhost", "-H", "X-Forwarded-URI: /", server.url("/api/authz/forward-auth")])
                #expect(basic.stdout == "200", "\(user): \(server.log())")
            }
        }

        let export = try harness.run(["user", "otp", "export"])
        #expect(export.stdout.contains("otpauth://totp/Portcullis:hana?secret=JBSWY3DPEHPK3PXP&issuer=Portcullis"))
        #expect(export.stdout.contains("otpauth://totp/Portcullis:ivan?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
        #expect(export.stderr.contains("holds OTP secrets"))
        let csv = try harness.run(["user", "otp", "export", "--format", "csv", "--user", "ivan"])
        #expect(csv.stdout.split(separator: "\n").map(String.init) == ["user,label,type,algorithm,digits,period,counter,secret_base32,pin",
                                                                       "ivan,simpleotp,totp,sha1,6,30,0,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,"])

        // The export reads back into another Portcullis.
        try export.stdout.write(toFile: harness.file("backup.txt"), atomically: true, encoding: .utf8)
        let other = try harness.run(["import", "otpauth", "backup.txt"], extraEnvironment: ["PORTCULLIS_STORAGE_SQLITE_PATH": "other/db.sqlite3"])
        #expect(other.stdout.contains("Imported 3 users."), "\(other.combined)")
        // With the device labels they had here.
        #expect(export.stdout.contains("&label=simpleotp"), "\(export.stdout)")
        let labels = try harness.run(["user", "otp", "list", "ivan"], extraEnvironment: ["PORTCULLIS_STORAGE_SQLITE_PATH": "other/db.sqlite3"])
        #expect(labels.stdout.contains("simpleotp:"), "\(labels.combined)")
    }

    @Test("Forward Auth TOTP's seeds database and caddy-basicauth-totp's secrets with a Caddyfile",
          .enabled(if: ProcessRunner.isAvailable("sqlite3") && ProcessRunner.isAvailable("htpasswd") && ProcessRunner.isAvailable("oathtool"), "needs sqlite3, htpasswd and oathtool"))
    func seedsAndCaddy() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        // The Go service's table, as it creates it.
        _ = try ProcessRunner.run("sqlite3", [harness.file("auth.db"),
            "CREATE TABLE seeds (id INTEGER PRIMARY KEY AUTOINCREMENT, secret TEXT NOT NULL); INSERT INTO seeds (secret) VALUES ('JBSWY3DPEHPK3PXP'), ('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), ('not base32');"])
        let seeds = try harness.run(["import", "forward-auth-totp", "auth.db", "--names", "2=kim"])
        #expect(seeds.stdout.contains("Imported 2 users."), "\(seeds.combined)")
        #expect(seeds.stdout.contains("skip seed 3"))
        let list = try harness.run(["user", "list"])
        #expect(list.stdout.contains("user1") && list.stdout.contains("kim"))
        #expect(try harness.run(["import", "forward-auth-totp", "auth.db", "--names", "two=kim"]).status != 0)
        #expect(try harness.run(["import", "forward-auth-totp", "missing.db"]).stderr.contains("does not exist"))

        let hash = try ProcessRunner.run("htpasswd", ["-nbB", "-C", "5", "lee", "lee's pw"]).stdout.split(separator: ":", maxSplits: 1)[1]
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try "example.com {\n\tbasic_auth {\n\t\tlee \(hash)\n\t}\n\treverse_proxy localhost:8080\n}\n".write(toFile: harness.file("Caddyfile"), atomically: true, encoding: .utf8)
        try #"{"users":[{"username":"lee","secret":"JBSWY3DPEHPK3PXP","code_length":6}]}"#.write(toFile: harness.file("secrets.json"), atomically: true, encoding: .utf8)
        let caddy = try harness.run(["import", "caddy-basicauth-totp", "secrets.json", "--caddyfile", "Caddyfile"])
        #expect(caddy.stdout.contains("create lee: password hash kept; devices: caddy-totp (TOTP, 6 digits)"), "\(caddy.combined)")
        #expect(caddy.stdout.contains("Imported 1 user."))
        #expect(try harness.run(["import", "caddy-basicauth-totp", "secrets.json"]).status != 0, "the hashes must come from somewhere")

        // Imported users log in with oathtool's codes: the seed users as Forward Auth TOTP's did (a code, in otp_only mode),
        // through the form and through Basic.
        let server = try ServerProcess(harness, environment: ["PORTCULLIS_AUTH_MODE": "otp_only"])
        defer { server.stop() }
        let user1Code = try Self.oathtool(["--totp", "-b", "JBSWY3DPEHPK3PXP"])
        let form = try AttackerTests.logIn(server, user: "user1", password: "", code: user1Code, from: "198.51.100.9")
        #expect(form.status == 303, "\(form.body)")
        for (user, secret) in [("kim", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), ("lee", "JBSWY3DPEHPK3PXP")] {
            let code = try Self.oathtool(["--totp", "-b", secret])
            let basic = try server.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "\(user):\(code)", "-H", "X-Forwarded-Proto: http",
                                         "-H", "X-Forwarded-Host: dav.localhost", "-H", "X-Forwarded-URI: /", server.url("/api/authz/forward-auth")])
            #expect(basic.stdout == "200", "\(user): \(server.log())")
        }
    }
}
