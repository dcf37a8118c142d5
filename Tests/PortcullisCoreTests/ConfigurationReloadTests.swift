import PortcullisCore
import Testing

@Suite("what a reload changes") struct ConfigurationReloadTests {
    @Test("cookies, session lifetimes, regulation, portal text, access rules and the log level follow the new file; the rest waits for a restart and is named")
    func reloading() throws {
        let old = Configuration()
        var new = Configuration()
        new.sessionCookies = [SessionCookieConfiguration(domain: "example.org", portalURL: "https://auth.example.org")]
        new.sessionInactivity = 600
        new.regulation.maxRetries = 2
        new.portalTitle = "Front door"
        new.accessDefaultPolicy = .oneFactor
        new.logLevel = .debug
        new.listenPort = 9999
        new.authMode = .otpOnly
        new.basic.linger = 5
        new.metricsListen = ListenAddress(host: "127.0.0.1", port: 9191)
        new.logFormat = .json
        new.totpDigits = 8

        let (next, needRestart) = old.reloading(from: new)
        #expect(next.sessionCookies == new.sessionCookies && next.sessionInactivity == 600 && next.regulation.maxRetries == 2)
        #expect(next.portalTitle == "Front door" && next.accessDefaultPolicy == .oneFactor && next.logLevel == .debug)
        #expect(next.totpDigits == 8, "a key only commands read is simply taken")
        #expect(next.listenPort == old.listenPort && next.authMode == old.authMode && next.basic == old.basic)
        #expect(next.metricsListen == nil && next.logFormat == .text)
        #expect(needRestart == ["server.listen", "auth.mode", "basic", "metrics.listen", "log.format"])

        // The same file again: nothing to restart for, nothing changes.
        let (same, none) = next.reloading(from: new)
        #expect(none == ["server.listen", "auth.mode", "basic", "metrics.listen", "log.format"], "still different from what runs")
        #expect(same == next)
        #expect(old.reloading(from: old).needRestart.isEmpty && old.reloading(from: old).configuration == old)
    }

    /// A new setting must be sorted into what a reload applies or what needs a restart.
    @Test("every setting differs in the new file: a reload takes exactly the applied ones and names every other")
    func everySettingIsSorted() throws {
        let old = Configuration()
        var new = Configuration()
        // Applied.
        new.sessionCookies = [SessionCookieConfiguration(domain: "example.org", portalURL: "https://auth.example.org")]
        new.sessionInactivity = 61
        new.sessionExpiration = 62
        new.sessionRememberMe = 63
        new.sessionIPBinding = .exact
        new.regulation.maxRetries = 64
        new.portalTitle = "New"
        new.portalLogoFile = "logo.svg"
        new.accessDefaultPolicy = .oneFactor
        new.accessRules = [try AccessRule(domains: [DomainPattern("example.org")!], policy: .bypass)]
        new.logLevel = .error
        new.totpIssuer = "New"
        new.totpAlgorithm = .sha256
        new.totpDigits = 8
        new.totpPeriod = 60
        new.passwordMinLength = 12
        new.warnings = ["a warning"]
        let applied: Set = ["sessionCookies", "sessionInactivity", "sessionExpiration", "sessionRememberMe", "sessionIPBinding", "regulation",
                            "portalTitle", "portalLogoFile", "accessDefaultPolicy", "accessRules", "logLevel", "totpIssuer", "totpAlgorithm",
                            "totpDigits", "totpPeriod", "passwordMinLength", "warnings"]
        // Kept until a restart.
        new.listenHost = "::1"
        new.listenPort = 1
        new.trustedProxies = []
        new.hashThreads = 3
        new.hashQueue = 5
        new.maxConnections = 7
        new.maxConnectionsPerAddress = 8
        new.headTimeout = 9
        new.idleTimeout = 10
        new.sqlitePath = "other.sqlite3"
        new.sqlitePathIsSet = true
        new.postgres = PostgresSettings()
        new.encryptionKeyFile = "other.key"
        new.encryptionKey = "key"
        new.storageOutageGrace = 30
        new.sessionCacheSize = 11
        new.authMode = .otpOnly
        new.basic.realm = "Other"
        new.auditRetention = 12
        new.totpSkew = 2
        new.hotpLookAhead = 9
        new.metricsListen = ListenAddress(host: "127.0.0.1", port: 9191)
        new.logFormat = .json

        let (next, needRestart) = old.reloading(from: new)
        let (oldFields, newFields, nextFields) = (Mirror(reflecting: old).children, Mirror(reflecting: new).children, Mirror(reflecting: next).children)
        var restartFields: [String] = []
        for ((label, before), (after, kept)) in zip(zip(oldFields.map(\.label), oldFields.map(\.value)), zip(newFields.map(\.value), nextFields.map(\.value))) {
            let name = try #require(label)
            #expect(String(describing: before) != String(describing: after), "the test leaves \(name) unchanged: change it in `new`")
            if applied.contains(name) {
                #expect(String(describing: kept) == String(describing: after), "a reload does not apply \(name)")
            } else {
                restartFields.append(name)
                #expect(String(describing: kept) == String(describing: before), "a reload applies \(name), which needs a restart")
            }
        }
        #expect(restartFields.count == 23)
        #expect(needRestart == ["server.listen", "server.trusted_proxies", "server.hash_threads", "server.hash_queue", "server.max_connections",
                                "server.max_connections_per_address", "server.head_timeout", "server.idle_timeout", "storage.sqlite.path",
                                "storage.postgres", "storage.encryption_key_file", "storage.encryption_key", "storage.outage_grace", "session.cache_size", "auth.mode", "basic", "audit.retention",
                                "totp.skew", "hotp.look_ahead", "metrics.listen", "log.format"])
    }
}
