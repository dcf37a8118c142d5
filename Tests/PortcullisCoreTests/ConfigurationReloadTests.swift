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
    @Test("every setting is either applied by a reload or named as needing a restart")
    func everySettingIsSorted() {
        let applied: Set = ["sessionCookies", "sessionInactivity", "sessionExpiration", "sessionRememberMe", "sessionIPBinding", "regulation",
                            "portalTitle", "portalLogoFile", "accessDefaultPolicy", "accessRules", "logLevel", "totpIssuer", "totpAlgorithm",
                            "totpDigits", "totpPeriod", "passwordMinLength", "warnings"]
        let restart: Set = ["listenHost", "listenPort", "trustedProxies", "hashThreads", "hashQueue", "maxConnections", "maxConnectionsPerAddress",
                            "headTimeout", "idleTimeout", "sqlitePath", "encryptionKeyFile", "encryptionKey", "sessionCacheSize", "authMode", "basic",
                            "auditRetention", "totpSkew", "hotpLookAhead", "metricsListen", "logFormat"]
        let properties = Set(Mirror(reflecting: Configuration()).children.compactMap(\.label))
        #expect(properties == applied.union(restart), "unsorted: \(properties.subtracting(applied.union(restart))); gone: \(applied.union(restart).subtracting(properties))")
    }
}
