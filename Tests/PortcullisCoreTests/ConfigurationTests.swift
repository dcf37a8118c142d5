import PortcullisCore
import Testing

@Suite struct ConfigurationTests {
    func load(_ yaml: String?, _ environment: [String: String] = [:], files: [String: String] = [:]) throws -> Configuration {
        try ConfigurationLoader.load(yaml: yaml, source: "test.yml", environment: environment) { path in
            guard let text = files[path] else { throw CoreError(.invalidConfiguration, "no such file") }
            return text
        }
    }

    func problems(_ yaml: String?, _ environment: [String: String] = [:]) -> [String] {
        do {
            _ = try load(yaml, environment)
            return []
        } catch let error as CoreError {
            return error.message.split(separator: "\n").map(String.init)
        } catch {
            return ["\(error)"]
        }
    }

    @Test("no file and no environment give the documented defaults")
    func defaults() throws {
        let configuration = try load(nil)
        #expect(configuration == Configuration())
        #expect(configuration.listenHost == "127.0.0.1" && configuration.listenPort == 9091)
        #expect(configuration.sqlitePath == "portcullis-data/portcullis.sqlite3")
        #expect(configuration.sessionInactivity == 3600 && configuration.sessionExpiration == 43_200 && configuration.sessionRememberMe == 2_592_000)
        #expect(configuration.authMode == .passwordAndOTP && configuration.sessionIPBinding == .off && configuration.totpSkew == 1)
        #expect(configuration.effectiveSessionCookies == [SessionCookieConfiguration(domain: "localhost", portalURL: "http://localhost:9091", secure: false)])
    }

    @Test("the template loads unchanged to exactly the defaults")
    func template() throws {
        #expect(try load(ConfigurationTemplate.text) == Configuration())
    }

    @Test("every key of the issue is read from YAML")
    func fullFile() throws {
        let configuration = try load("""
        server:
          listen: 0.0.0.0:8080
          trusted_proxies: [10.0.0.0/8, "fd00::/8"]
        storage:
          sqlite: {path: /var/lib/portcullis/db.sqlite3}
          encryption_key_file: /etc/portcullis/key
        session:
          cookies:
            - domain: example.com
              portal_url: https://auth.example.com
              name: pc_session
              path: /
              same_site: strict
              secure: true
            - domain: .home.lab
              portal_url: https://auth.home.lab/
          inactivity: 15m
          expiration: 12h
          remember_me: 30d
          ip_binding: prefix
        auth: {mode: otp_only}
        totp: {skew: 2}
        """)
        #expect(configuration.listenHost == "0.0.0.0" && configuration.listenPort == 8080)
        #expect(configuration.trustedProxies == [CIDR("10.0.0.0/8")!, CIDR("fd00::/8")!])
        #expect(configuration.sqlitePath == "/var/lib/portcullis/db.sqlite3")
        #expect(configuration.resolvedKeyFile == "/etc/portcullis/key")
        #expect(configuration.sessionCookies.count == 2)
        #expect(configuration.sessionCookies[0] == SessionCookieConfiguration(domain: "example.com", portalURL: "https://auth.example.com", name: "pc_session", sameSite: .strict))
        #expect(configuration.sessionCookies[1].domain == "home.lab")
        #expect(configuration.sessionCookies[1].portalBase == "https://auth.home.lab")
        #expect(configuration.sessionInactivity == 900 && configuration.sessionExpiration == 43_200 && configuration.sessionRememberMe == 2_592_000)
        #expect(configuration.sessionIPBinding == .prefix && configuration.authMode == .otpOnly && configuration.totpSkew == 2)
    }

    @Test("environment variables override the file, list entries by index, and _FILE reads values from files")
    func environment() throws {
        let configuration = try load("server: {listen: 127.0.0.1:1000}", [
            "PORTCULLIS_SERVER_LISTEN": "[::1]:9443",
            "PORTCULLIS_SESSION_COOKIES_0_DOMAIN": "example.com",
            "PORTCULLIS_SESSION_COOKIES_0_PORTAL_URL": "https://auth.example.com",
            "PORTCULLIS_SESSION_IP_BINDING": "exact",
            "PORTCULLIS_SERVER_TRUSTED_PROXIES": "192.168.0.0/16, 127.0.0.1",
            "PORTCULLIS_STORAGE_ENCRYPTION_KEY_FILE": "/run/secrets/key",
            "PORTCULLIS_TOTP_SKEW": "0",
            "HOME": "/root",
        ], files: ["/run/secrets/key": "AAAA\n"])
        #expect(configuration.listenHost == "::1" && configuration.listenPort == 9443)
        #expect(configuration.sessionCookies == [SessionCookieConfiguration(domain: "example.com", portalURL: "https://auth.example.com")])
        #expect(configuration.sessionIPBinding == .exact)
        #expect(configuration.trustedProxies == [CIDR("192.168.0.0/16")!, CIDR("127.0.0.1/32")!])
        #expect(configuration.encryptionKey == "AAAA")
        #expect(configuration.totpSkew == 0)
    }

    @Test("storage.outage_grace: 5 minutes unless given, a duration up to a day, 0 allowed, from YAML and the environment")
    func outageGrace() throws {
        #expect(try load(nil).storageOutageGrace == 300)
        #expect(try load("storage: {outage_grace: 90s}").storageOutageGrace == 90)
        #expect(try load(nil, ["PORTCULLIS_STORAGE_OUTAGE_GRACE": "0"]).storageOutageGrace == 0)
        #expect(try load("storage: {outage_grace: 1d}").storageOutageGrace == 86_400)
        for wrong in ["2d", "-1s", "soon"] {
            let found = problems("storage: {outage_grace: \(wrong)}")
            #expect(found.count == 1 && found[0].contains("storage.outage_grace"), "\(wrong): \(found)")
        }
    }

    @Test("basic and regulation keys are read, from YAML and the environment")
    func basicAndRegulation() throws {
        let configuration = try load("""
        basic: {enabled: false, realm: "Home lab", linger: 5m, idle: 90s, logout_on_ip_change: false}
        regulation: {max_retries: 7, find_time: 1h, ban_time: 2h, max_otp_failures: 0}
        session:
          cookies:
            - {domain: example.com, portal_url: "https://auth.example.com", basic: true}
        """, ["PORTCULLIS_BASIC_LINGER": "15m"])
        #expect(configuration.basic.enabled == false && configuration.basic.realm == "Home lab")
        #expect(configuration.basic.linger == 900 && configuration.basic.idle == 90 && configuration.basic.logoutOnIPChange == false)
        #expect(configuration.sessionCookies[0].basic == true)
        #expect(configuration.regulation == RegulationPolicy(maxRetries: 7, findTime: 3600, banTime: 7200, maxOTPFailures: 0))
        let found = problems("basic: {realm: 'a\"b', linger: 0, enabled: maybe}\nregulation: {max_retries: 0}")
        #expect(found.count == 4, "\(found)")
    }

    @Test("a bare `off` (which YAML reads as false) is accepted for ip_binding")
    func bareOff() throws {
        #expect(try load("session:\n  ip_binding: off\n").sessionIPBinding == .off)
    }

    @Test("totp.issuer is counted in bytes and checked scalar by scalar, so every issuer accepted can be written into a label")
    func issuer() throws {
        #expect(try load("totp:\n  issuer: Émile's Gate\n").totpIssuer == "Émile's Gate")
        #expect(try load("totp:\n  issuer: \(String(repeating: "a", count: 64))\n").totpIssuer.utf8.count == 64)
        // 22 characters but 66 bytes; a colon hidden in one Character by a combining mark; a tab.
        for refused in [String(repeating: "é", count: 33), ":\u{32B}x", "a\tb", String(repeating: "a", count: 65)] {
            let found = problems(nil, ["PORTCULLIS_TOTP_ISSUER": refused])
            #expect(found.count == 1 && found[0].contains("totp.issuer"), "\(refused.debugDescription): \(found)")
        }
    }

    @Test("access_control: rules as Authelia writes them, named networks in both forms, every problem named")
    func accessControl() throws {
        let configuration = try load("""
        access_control:
          default_policy: deny
          networks:
            - name: lan
              networks: [192.168.0.0/16, 'fd00::/8']
          rules:
            - domain: app.example.com
              resources: ['^/health$', '^/x{1,3}$']
              policy: bypass
            - domain: ['*.example.com', example.com]
              domain_regex: '^(pub|img)\\.example\\.org$'
              methods: [get, HEAD]
              networks: [lan, 10.0.0.1, vpn]
              subject: ['user:alice', ['group:ops', 'group:dev']]
              policy: two_factor
            - domain: admin.example.com
              subject: group:admins
              policy: one_factor
        definitions:
          network:
            vpn: [10.8.0.0/24]
        """)
        #expect(configuration.accessDefaultPolicy == .deny)
        let rules = configuration.accessRules
        #expect(rules.count == 3)
        #expect(rules[0].resources.map(\.source) == ["^/health$", "^/x{1,3}$"] && rules[0].policy == .bypass)
        #expect(rules[1].domains.map(\.description) == ["*.example.com", "example.com"])
        #expect(rules[1].domainPatterns.map(\.source) == ["^(pub|img)\\.example\\.org$"])
        #expect(rules[1].methods == ["GET", "HEAD"])
        #expect(rules[1].networks == [CIDR("192.168.0.0/16")!, CIDR("fd00::/8")!, CIDR("10.0.0.1")!, CIDR("10.8.0.0/24")!])
        #expect(rules[1].subject == SubjectCondition(alternatives: [[.user("alice")], [.group("ops"), .group("dev")]]))
        #expect(rules[2].subject == SubjectCondition(alternatives: [[.group("admins")]]))
        let request = AccessRequest(host: "img.example.org", method: "GET", target: "/", client: IPAddress("10.8.0.9")!)
        #expect(configuration.accessControl.decide(request, identity: Identity(user: "alice", groups: [], name: "", email: "")) == .apply(.twoFactor, rule: 1))

        let found = problems("""
        access_control:
          rules:
            - domain: app.example.com
              resources: ['^/api(']
              policy: bypass
            - domain: [app.example.com, 'exa mple.com']
              methods: [FETCH]
              networks: [nowhere]
              policy: sometimes
            - domain: app.example.com
              subject: group:admins
              policy: bypass
            - domian: app.example.com
              query: [[{key: x}]]
              policy: deny
            - subject: 'role:x'
              policy: one_factor
        """)
        for fragment in ["access_control.rules.0.resources.0 '^/api(' has a '(' that is never closed", "access_control.rules.1.domain.1 is 'exa mple.com'",
                         "access_control.rules.1.methods.0 is 'FETCH'", "access_control.rules.1.networks.0 is 'nowhere'",
                         "access_control.rules.1.policy is 'sometimes'", "access_control.rules.2 has policy bypass and a subject",
                         "access_control.rules.3.domian is not a known key", "access_control.rules.3.query is not a known key of a rule (query conditions",
                         "access_control.rules.4.subject.0: subject 'role:x' must be"] {
            #expect(found.contains { $0.contains(fragment) }, "missing \(fragment) in \(found)")
        }
        #expect(found.count == 9, "\(found)")
        #expect(problems("access_control: {default_policy: bypass}\n").first?.contains("let through without a login") == true)
        // Empty lists would match everyone: refused.
        let empty = problems("""
        access_control:
          networks:
            - {name: none, networks: []}
          rules:
            - {domain: app.example.com, subject: [], policy: deny}
            - {domain: [], policy: deny}
            - {domain: app.example.com, networks: [none], policy: deny}
        """)
        for fragment in ["access_control.networks.0.networks is an empty list", "access_control.rules.0.subject is empty",
                         "access_control.rules.1.domain is an empty list"] {
            #expect(empty.contains { $0.contains(fragment) }, "missing \(fragment) in \(empty)")
        }
        // Hosts are matched in lower case: a domain_regex with a capital letter could never match. Class escapes are not letters.
        let capitals = problems("""
        access_control:
          rules:
            - {domain_regex: ['^App\\.example\\.com$', '^\\D+\\.example\\.com$'], policy: deny}
        """)
        #expect(capitals.count == 1 && capitals[0].contains("access_control.rules.0.domain_regex.0 '^App\\.example\\.com$' has upper-case letters"), "\(capitals)")
        #expect(try load(nil, ["PORTCULLIS_ACCESS_CONTROL_DEFAULT_POLICY": "one_factor"]).accessDefaultPolicy == .oneFactor)
    }

    @Test("relative paths written in a file, and the default data folder, are the file's folder's; paths from the environment stay as given")
    func relativePaths() throws {
        func load(_ yaml: String, _ environment: [String: String] = [:]) throws -> Configuration {
            try ConfigurationLoader.load(yaml: yaml, source: "/etc/portcullis/portcullis.yml", environment: environment,
                                         readFile: { _ in "" }, baseDirectory: "/etc/portcullis")
        }
        let defaults = try load("totp:\n  digits: 6\n")
        #expect(defaults.sqlitePath == "/etc/portcullis/portcullis-data/portcullis.sqlite3")
        #expect(defaults.resolvedKeyFile == "/etc/portcullis/portcullis-data/storage.key")
        let written = try load("storage:\n  sqlite:\n    path: data/x.sqlite3\n  encryption_key_file: keys/k\nportal:\n  logo_file: logo.svg\n")
        #expect(written.sqlitePath == "/etc/portcullis/data/x.sqlite3" && written.encryptionKeyFile == "/etc/portcullis/keys/k")
        #expect(written.portalLogoFile == "/etc/portcullis/logo.svg")
        let absolute = try load("storage:\n  sqlite:\n    path: /var/lib/portcullis/p.sqlite3\n")
        #expect(absolute.sqlitePath == "/var/lib/portcullis/p.sqlite3")
        let environment = try load("storage:\n  sqlite:\n    path: data/x.sqlite3\n", ["PORTCULLIS_STORAGE_SQLITE_PATH": "here/y.sqlite3"])
        #expect(environment.sqlitePath == "here/y.sqlite3")
        #expect(try self.load("storage:\n  sqlite:\n    path: data/x.sqlite3\n").sqlitePath == "data/x.sqlite3", "without a file's folder nothing moves")
    }

    @Test("an unknown key names the closest known one and checks its value against it; an unknown PORTCULLIS_ variable is a warning")
    func typos() throws {
        #expect(problems("regulation:\n  ban_tme: 10m\n") == ["regulation.ban_tme (in test.yml) is not a known key; did you mean regulation.ban_time?"])
        let both = problems("regulation:\n  ban_tme: forever\n")
        #expect(both.count == 1 && both[0].contains("did you mean regulation.ban_time? Its value would not do there either; allowed:") && !both[0].contains("forever"), "\(both)")
        #expect(problems("session:\n  cookies:\n    - domian: example.com\n").first?.contains("did you mean session.cookies.0.domain?") == true)
        #expect(problems("zzz: 1\n").first?.contains("Known keys:") == true, "nothing near: the list of keys")
        let loaded = try load(nil, ["PORTCULLIS_REGULATION_BAN_TME": "1m", "PORTCULLIS_CONFIG": "x.yml", "PORTCULLIS_TOTP_SKEW": "2"])
        #expect(loaded.warnings == ["The environment variable PORTCULLIS_REGULATION_BAN_TME is not a Portcullis setting and is ignored; did you mean PORTCULLIS_REGULATION_BAN_TIME?"])
        #expect(loaded.totpSkew == 2)
    }

    @Test("every problem is reported at once, naming the key, the value and what is allowed")
    func allProblems() {
        let found = problems("""
        server: {listen: "localhost"}
        session:
          inactivity: 5x
          ip_binding: sometimes
          cookies:
            - domain: example.com
              portal_url: https://auth.other.org
        auth: {mode: magic}
        totp: {skew: 99}
        colour: blue
        """)
        #expect(found.count == 7, "\(found)")
        for fragment in ["server.listen is 'localhost'", "session.inactivity is '5x'", "session.ip_binding is 'sometimes'", "auth.mode is 'magic'",
                         "totp.skew is '99'", "colour (in test.yml) is not a known key", "session.cookies.0.portal_url is 'https://auth.other.org'"] {
            #expect(found.contains { $0.contains(fragment) }, "missing \(fragment)")
        }
        #expect(found.first { $0.hasPrefix("auth.mode") }?.contains("allowed: password_and_otp or otp_only") == true)
    }

    @Test("metrics.listen is off by default, takes host:port or off, and may not share the server's port; log.level and log.format are checked")
    func metricsAndLog() throws {
        let defaults = try load(nil)
        #expect(defaults.metricsListen == nil && defaults.logLevel == .info && defaults.logFormat == .text)
        let set = try load("metrics: {listen: '[::1]:9191'}\nlog: {level: warning, format: json}")
        #expect(set.metricsListen == ListenAddress(host: "::1", port: 9191))
        #expect(set.metricsListen?.description == "[::1]:9191")
        #expect(set.logLevel == .warning && set.logFormat == .json)
        #expect(try load("metrics: {listen: '127.0.0.1:9191'}", ["PORTCULLIS_METRICS_LISTEN": "off"]).metricsListen == nil)
        #expect(try load(nil, ["PORTCULLIS_LOG_LEVEL": "DEBUG"]).logLevel == .debug)
        // Another address on the same port is fine; the same one, or a wildcard, is not.
        #expect(try load("server: {listen: '127.0.0.1:9091'}\nmetrics: {listen: '127.0.0.2:9091'}").metricsListen?.port == 9091)
        for (server, clash) in [("127.0.0.1:9091", "127.0.0.1:9091"), ("127.0.0.1:9091", "0.0.0.0:9091"), ("127.0.0.1:9091", "localhost:9091"),
                                ("[::1]:9091", "[0:0:0:0:0:0:0:1]:9091"), ("[::]:9091", "127.0.0.1:9091"), ("localhost:9091", "[::1]:9091")] {
            let found = problems("server: {listen: '\(server)'}\nmetrics: {listen: '\(clash)'}")
            #expect(found.count == 1 && found.first?.contains("give metrics a port of its own, such as") == true, "\(server) \(clash): \(found)")
        }
        #expect(try load("server: {listen: '[::1]:9091'}\nmetrics: {listen: '127.0.0.1:9091'}").metricsListen?.port == 9091)
        let bad = problems("metrics: {listen: 'everywhere'}\nlog: {level: loud, format: xml}")
        for fragment in ["metrics.listen is 'everywhere'", "log.level is 'loud'", "log.format is 'xml'", "allowed: text or json"] {
            #expect(bad.contains { $0.contains(fragment) }, "missing \(fragment) in \(bad)")
        }
    }

    @Test("secrets may not be written in the file, and their values never appear in messages")
    func secrets() {
        let found = problems("storage: {encryption_key: c2VjcmV0}")
        #expect(found.count == 1)
        #expect(found[0].contains("PORTCULLIS_STORAGE_ENCRYPTION_KEY"))
        #expect(!found.joined().contains("c2VjcmV0"))
    }

    @Test("cross-key rules: Secure cookies need https, remember_me outlives expiration, duplicate domains", arguments: [
        ("session: {cookies: [{domain: example.com, portal_url: 'http://auth.example.com'}]}", "secure is true but portal_url is plain http"),
        ("session: {remember_me: 1h}", "session.remember_me"),
        ("session: {inactivity: 13h}", "longer than session.expiration"),
        ("session: {cookies: [{domain: a.com, portal_url: 'https://x.a.com'}, {domain: a.com, portal_url: 'https://y.a.com'}]}", "listed twice"),
        ("session: {cookies: [{portal_url: 'https://x.a.com'}]}", "domain is missing"),
        ("session: {cookies: [{domain: a.com, same_site: none, secure: false, portal_url: 'http://x.a.com'}]}", "same_site is none"),
    ])
    func crossChecks(yaml: String, fragment: String) {
        let found = problems(yaml)
        #expect(found.contains { $0.contains(fragment) }, "\(found)")
    }

    @Test("durations read as 90s, 15m, 12h, 30d", arguments: [("90s", 90), ("15m", 900), ("12h", 43_200), ("30d", 2_592_000)] as [(String, Int64)])
    func durations(text: String, seconds: Int64) throws {
        #expect(DurationParser.seconds(text) == seconds)
        #expect(try load("session: {expiration: 365d, remember_me: 365d, inactivity: \(text)}").sessionInactivity == seconds)
    }

    @Test("the environment name of a key is PORTCULLIS_ and its path in upper case")
    func environmentNames() {
        #expect(ConfigurationLoader.environmentName(for: "server.listen") == "PORTCULLIS_SERVER_LISTEN")
        #expect(ConfigurationLoader.environmentName(for: "storage.sqlite.path") == "PORTCULLIS_STORAGE_SQLITE_PATH")
        #expect(ConfigurationLoader.environmentName(for: "session.cookies.0.portal_url") == "PORTCULLIS_SESSION_COOKIES_0_PORTAL_URL")
    }
}
