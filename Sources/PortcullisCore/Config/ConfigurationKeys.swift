/// The known configuration keys: their paths, what they allow, and how they set a ``Configuration``.
enum ConfigurationKeys {
    struct Key: Sendable {
        /// The dotted path; `*` stands for a list index.
        let path: String
        let allowed: String
        var isSecret = false
        /// Sets the value; the Int is the list index for `*` paths. Returns false when the value is not allowed.
        let apply: @Sendable (inout Configuration, String, Int) -> Bool
    }

    static let all: [Key] = [
        Key(path: "server.listen", allowed: "host:port, such as 127.0.0.1:9091 or [::1]:9091") { config, value, _ in
            guard let (host, port) = parseListen(value) else { return false }
            config.listenHost = host
            config.listenPort = port
            return true
        },
        Key(path: "metrics.listen", allowed: "host:port such as 127.0.0.1:9191, or off") { config, value, _ in
            if ["off", "false", ""].contains(value.lowercased()) {
                config.metricsListen = nil
                return true
            }
            guard let (host, port) = parseListen(value) else { return false }
            config.metricsListen = ListenAddress(host: host, port: port)
            return true
        },
        Key(path: "log.level", allowed: "trace, debug, info, notice, warning, error or critical") { config, value, _ in
            guard let level = LogLevelSetting(rawValue: value.lowercased()) else { return false }
            config.logLevel = level
            return true
        },
        Key(path: "log.format", allowed: "text or json") { config, value, _ in
            guard let format = LogFormat(rawValue: value.lowercased()) else { return false }
            config.logFormat = format
            return true
        },
        Key(path: "server.trusted_proxies", allowed: "a list of CIDR ranges such as 10.0.0.0/8 or 127.0.0.1") { config, value, _ in
            let parts = value.split(separator: ",").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
            let ranges = parts.compactMap(CIDR.init)
            guard ranges.count == parts.count else { return false }
            config.trustedProxies = ranges
            return true
        },
        Key(path: "storage.sqlite.path", allowed: "a file path") { config, value, _ in
            guard !value.isEmpty else { return false }
            config.sqlitePath = value
            config.sqlitePathIsSet = true
            return true
        },
        Key(path: "storage.postgres.url", allowed: "postgres://USER@HOST:PORT/DATABASE?sslmode=MODE (the password from PORTCULLIS_STORAGE_POSTGRES_PASSWORD)") { config, value, _ in
            var settings = config.postgres ?? PostgresSettings()
            guard settings.apply(url: value) else { return false }
            config.postgres = settings
            return true
        },
        Key(path: "storage.postgres.host", allowed: "a host name or address, or the folder of a Unix socket such as /var/run/postgresql") { config, value, _ in
            guard !value.isEmpty, value.utf8.count <= 1024, value.allSatisfy({ !$0.isWhitespace && $0 != "\0" }) else { return false }
            updatePostgres(&config) { $0.host = value }
            return true
        },
        Key(path: "storage.postgres.port", allowed: "a port number from 1 to 65535") { config, value, _ in
            guard let port = Int(value), (1...65535).contains(port) else { return false }
            updatePostgres(&config) { $0.port = port }
            return true
        },
        Key(path: "storage.postgres.database", allowed: "a database name (1 to 63 bytes)") { config, value, _ in
            guard !value.isEmpty, value.utf8.count <= 63, !value.contains("\0") else { return false }
            updatePostgres(&config) { $0.database = value }
            return true
        },
        Key(path: "storage.postgres.username", allowed: "a role name (1 to 63 bytes)") { config, value, _ in
            guard !value.isEmpty, value.utf8.count <= 63, !value.contains("\0") else { return false }
            updatePostgres(&config) { $0.username = value }
            return true
        },
        Key(path: "storage.postgres.password", allowed: "the role's password", isSecret: true) { config, value, _ in
            guard !value.isEmpty, value.utf8.count <= 1024, !value.contains("\0") else { return false }
            updatePostgres(&config) { $0.password = value }
            return true
        },
        Key(path: "storage.postgres.password_file", allowed: "a file path") { config, value, _ in
            guard !value.isEmpty else { return false }
            updatePostgres(&config) { $0.passwordFile = value }
            return true
        },
        Key(path: "storage.postgres.tls", allowed: "disable, prefer, require or verify-full") { config, value, _ in
            guard let mode = PostgresSettings.TLSMode(rawValue: value.lowercased()) else { return false }
            updatePostgres(&config) { $0.tls = mode }
            return true
        },
        Key(path: "storage.postgres.tls_ca_file", allowed: "a file of PEM certificates") { config, value, _ in
            guard !value.isEmpty else { return false }
            updatePostgres(&config) { $0.tlsCAFile = value }
            return true
        },
        Key(path: "storage.postgres.pool_size", allowed: "a number of connections from 1 to \(PostgresSettings.maximumPoolSize)") { config, value, _ in
            guard let size = Int(value), (1...PostgresSettings.maximumPoolSize).contains(size) else { return false }
            updatePostgres(&config) { $0.poolSize = size }
            return true
        },
        Key(path: "storage.encryption_key_file", allowed: "a file path") { config, value, _ in
            guard !value.isEmpty else { return false }
            config.encryptionKeyFile = value
            return true
        },
        Key(path: "storage.encryption_key", allowed: "32 bytes as Base64 or hex", isSecret: true) { config, value, _ in
            config.encryptionKey = value
            return !value.isEmpty
        },
        duration("storage.outage_grace", 0...86_400, allowed: "a duration up to 1d, such as 5m; 0 stops sessions in memory verifying as soon as the store does not answer") {
            $0.storageOutageGrace = $1
        },
        Key(path: "session.cookies.*.domain", allowed: "a domain name such as example.com") { config, value, index in
            let domain = value.lowercased().hasPrefix(".") ? String(value.lowercased().dropFirst()) : value.lowercased()
            guard RedirectValidator.isHostName(Substring(domain)) else { return false }
            updateCookie(&config, index) { $0.domain = domain }
            return true
        },
        Key(path: "session.cookies.*.portal_url", allowed: "an http(s) URL such as https://auth.example.com") { config, value, index in
            guard RedirectValidator.host(ofSafeURL: value) != nil, !value.contains("?"), !value.contains("#") else { return false }
            updateCookie(&config, index) { $0.portalURL = value }
            return true
        },
        Key(path: "session.cookies.*.name", allowed: "1 to 64 letters, digits, '_' or '-'") { config, value, index in
            guard !value.isEmpty, value.count <= 64, value.allSatisfy({ $0.isASCIILetterOrDigit || $0 == "_" || $0 == "-" }) else { return false }
            updateCookie(&config, index) { $0.name = value }
            return true
        },
        Key(path: "session.cookies.*.path", allowed: "a path starting with /, without ; or spaces") { config, value, index in
            guard value.hasPrefix("/"), value.count <= 256, !value.contains(";"), value.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else { return false }
            updateCookie(&config, index) { $0.path = value }
            return true
        },
        Key(path: "session.cookies.*.same_site", allowed: "lax, strict or none") { config, value, index in
            guard let sameSite = SessionCookieConfiguration.SameSite.allCases.first(where: { $0.rawValue.lowercased() == value.lowercased() }) else { return false }
            updateCookie(&config, index) { $0.sameSite = sameSite }
            return true
        },
        flag("session.cookies.*.secure") { config, flag, index in updateCookie(&config, index) { $0.secure = flag } },
        Key(path: "session.cookies.*.default_redirect_url", allowed: "an http(s) URL on the cookie's domain") { config, value, index in
            guard RedirectValidator.host(ofSafeURL: value) != nil else { return false }
            updateCookie(&config, index) { $0.defaultRedirectURL = value }
            return true
        },
        flag("session.cookies.*.basic") { config, flag, index in updateCookie(&config, index) { $0.basic = flag } },
        duration("session.inactivity", 60...2_592_000, allowed: "a duration from 1m to 30d, such as 90s, 15m, 12h") { $0.sessionInactivity = $1 },
        duration("session.expiration", 60...31_536_000, allowed: "a duration from 1m to 365d") { $0.sessionExpiration = $1 },
        Key(path: "session.remember_me", allowed: "a duration up to 365d, or 0 (or off) to hide \"remember me\"") { config, value, _ in
            if value.lowercased() == "off" || value.lowercased() == "false" {
                config.sessionRememberMe = 0
                return true
            }
            guard let seconds = DurationParser.seconds(value), (0...31_536_000).contains(seconds) else { return false }
            config.sessionRememberMe = seconds
            return true
        },
        Key(path: "session.ip_binding", allowed: "off, exact or prefix") { config, value, _ in
            // YAML reads a bare `off` as false.
            let text = value.lowercased() == "false" ? "off" : value.lowercased()
            guard let binding = IPBinding(rawValue: text) else { return false }
            config.sessionIPBinding = binding
            return true
        },
        Key(path: "auth.mode", allowed: "password_and_otp or otp_only") { config, value, _ in
            guard let mode = AuthMode(rawValue: value.lowercased()) else { return false }
            config.authMode = mode
            return true
        },
        Key(path: "auth.password_min_length", allowed: "a whole number from 1 to 128") { config, value, _ in
            guard let length = Int(value), (1...128).contains(length) else { return false }
            config.passwordMinLength = length
            return true
        },
        flag("basic.enabled") { config, flag, _ in config.basic.enabled = flag },
        Key(path: "basic.realm", allowed: "1 to 64 printable characters without '\"' or '\\'") { config, value, _ in
            guard !value.isEmpty, value.count <= 64, value.allSatisfy({ $0.isASCII && !$0.isNewline && $0 != "\"" && $0 != "\\" && ($0.asciiValue ?? 0) >= 32 }) else { return false }
            config.basic.realm = value
            return true
        },
        duration("basic.linger", 1...604_800, allowed: "a duration from 1s to 7d") { $0.basic.linger = $1 },
        duration("basic.idle", 0...604_800, allowed: "a duration up to 7d, or 0 (off)") { $0.basic.idle = $1 },
        flag("basic.logout_on_ip_change") { config, flag, _ in config.basic.logoutOnIPChange = flag },
        Key(path: "regulation.max_retries", allowed: "a whole number from 1 to 1000") { config, value, _ in
            guard let number = Int(value), (1...1000).contains(number) else { return false }
            config.regulation.maxRetries = number
            return true
        },
        duration("regulation.find_time", 1...2_592_000, allowed: "a duration from 1s to 30d") { $0.regulation.findTime = $1 },
        duration("regulation.ban_time", 1...31_536_000, allowed: "a duration from 1s to 365d") { $0.regulation.banTime = $1 },
        Key(path: "regulation.max_otp_failures", allowed: "a whole number from 1 to 1000, or 0 to turn the lockout off") { config, value, _ in
            guard let number = Int(value), (0...1000).contains(number) else { return false }
            config.regulation.maxOTPFailures = number
            return true
        },
        Key(path: "regulation.max_in_flight", allowed: "a whole number from 1 to 100") { config, value, _ in
            guard let number = Int(value), (1...100).contains(number) else { return false }
            config.regulation.maxInFlight = number
            return true
        },
        Key(path: "regulation.ipv6_prefix", allowed: "a prefix length from 32 to 128") { config, value, _ in
            guard let number = Int(value), (32...128).contains(number) else { return false }
            config.regulation.ipv6PrefixLength = number
            return true
        },
        duration("audit.retention", 3600...3_153_600_000, allowed: "a duration from 1h to 100y") { $0.auditRetention = $1 },
        Key(path: "server.hash_threads", allowed: "a whole number from 1 to 64, or 0 for one fewer than the cores") { config, value, _ in
            guard let number = Int(value), (0...64).contains(number) else { return false }
            config.hashThreads = number
            return true
        },
        Key(path: "server.hash_queue", allowed: "a whole number from 1 to 10000") { config, value, _ in
            guard let number = Int(value), (1...10_000).contains(number) else { return false }
            config.hashQueue = number
            return true
        },
        whole("server.max_connections", 16...1_000_000) { $0.maxConnections = $1 },
        whole("server.max_connections_per_address", 1...1_000_000) { $0.maxConnectionsPerAddress = $1 },
        duration("server.head_timeout", 1...300, allowed: "a duration from 1s to 5m, such as 10s") { $0.headTimeout = $1 },
        duration("server.idle_timeout", 1...3600, allowed: "a duration from 1s to 1h, such as 60s") { $0.idleTimeout = $1 },
        whole("session.cache_size", 100...100_000_000) { $0.sessionCacheSize = $1 },
        Key(path: "portal.title", allowed: "1 to 80 characters") { config, value, _ in
            guard !value.isEmpty, value.count <= 80, !value.contains(where: \.isNewline) else { return false }
            config.portalTitle = value
            return true
        },
        Key(path: "portal.logo_file", allowed: "a path to a .png or .svg file") { config, value, _ in
            let lowered = value.lowercased()
            guard lowered.hasSuffix(".png") || lowered.hasSuffix(".svg") else { return false }
            config.portalLogoFile = value
            return true
        },
        Key(path: "access_control.default_policy", allowed: "bypass, one_factor, two_factor or deny") { config, value, _ in
            guard let policy = AccessPolicy(rawValue: value.lowercased()) else { return false }
            config.accessDefaultPolicy = policy
            return true
        },
        Key(path: "totp.issuer", allowed: "1 to 64 bytes of UTF-8 without ':' or control characters") { config, value, _ in
            // Bytes and scalars, not Characters: ":" followed by a combining mark is one Character,
            // and authenticator apps split the label at the scalar.
            guard !value.isEmpty, value.utf8.count <= 64,
                  !value.unicodeScalars.contains(where: { $0 == ":" || $0.properties.generalCategory == .control })
            else { return false }
            config.totpIssuer = value
            return true
        },
        Key(path: "totp.skew", allowed: "a whole number from 0 to 10") { config, value, _ in
            guard let number = Int(value), (0...10).contains(number) else { return false }
            config.totpSkew = number
            return true
        },
        Key(path: "totp.algorithm", allowed: "sha1, sha256 or sha512") { config, value, _ in
            guard let algorithm = OTPAlgorithm(rawValue: value.lowercased()) else { return false }
            config.totpAlgorithm = algorithm
            return true
        },
        Key(path: "totp.digits", allowed: "6 to 10") { config, value, _ in
            guard let number = Int(value), OTPParameters.allowedDigits.contains(number) else { return false }
            config.totpDigits = number
            return true
        },
        Key(path: "totp.period", allowed: "1 to 86400 seconds") { config, value, _ in
            guard let number = Int(value), (1...OTPParameters.maximumPeriod).contains(number) else { return false }
            config.totpPeriod = number
            return true
        },
        Key(path: "hotp.look_ahead", allowed: "a whole number from 0 to 100") { config, value, _ in
            guard let number = Int(value), (0...100).contains(number) else { return false }
            config.hotpLookAhead = number
            return true
        },
    ]

    /// A key that takes a duration (`90s`, `15m`, `12h`, `30d`) within `range` seconds.
    static func duration(_ path: String, _ range: ClosedRange<Int64>, allowed: String, _ set: @escaping @Sendable (inout Configuration, Int64) -> Void) -> Key {
        Key(path: path, allowed: allowed) { config, value, _ in
            guard let seconds = DurationParser.seconds(value), range.contains(seconds) else { return false }
            set(&config, seconds)
            return true
        }
    }

    /// A key that takes a whole number in `range`.
    static func whole(_ path: String, _ range: ClosedRange<Int>, _ set: @escaping @Sendable (inout Configuration, Int) -> Void) -> Key {
        Key(path: path, allowed: "a whole number from \(range.lowerBound) to \(range.upperBound)") { config, value, _ in
            guard value.utf8.count <= 12, let number = Int(value), range.contains(number) else { return false }
            set(&config, number)
            return true
        }
    }

    /// A key that takes `true` or `false`.
    static func flag(_ path: String, _ set: @escaping @Sendable (inout Configuration, Bool, Int) -> Void) -> Key {
        Key(path: path, allowed: "true or false") { config, value, index in
            guard let flag = Bool(value.lowercased()) else { return false }
            set(&config, flag, index)
            return true
        }
    }

    /// The problem of an unknown key: the closest known key when one is near (with its value
    /// checked against it), else the list of known keys.
    static func unknownKeyProblem(_ path: String, value: String, origin: String) -> String {
        let index = path.split(separator: ".").first { $0.allSatisfy(\.isASCIIDigit) }.map(String.init) ?? "0"
        let candidates = all.filter { !$0.isSecret }.map { $0.path.replacing("*", with: index) }
        guard let closest = closest(to: path, among: candidates) else {
            return "\(path) (in \(origin)) is not a known key. Known keys: \(documentedPaths.joined(separator: ", "))."
        }
        var message = "\(path) (in \(origin)) is not a known key; did you mean \(closest)?"
        if let (key, keyIndex) = key(for: closest) {
            var scratch = Configuration()
            // The value is not repeated: the key it was meant for may have been a secret one.
            if !key.apply(&scratch, value, keyIndex ?? 0) { message += " Its value would not do there either; allowed: \(key.allowed)." }
        }
        return message
    }

    /// The warning for a `PORTCULLIS_*` variable that sets nothing, with the closest one that would.
    static func unknownVariableWarning(_ name: String) -> String {
        let candidates = all.filter { !$0.path.contains("*") }.map { ConfigurationLoader.environmentName(for: $0.path) }
        let hint = closest(to: name, among: candidates).map { "; did you mean \($0)?" } ?? ""
        return "The environment variable \(name) is not a Portcullis setting and is ignored\(hint)"
    }

    /// The candidate nearest `text` by edit distance, when near enough to be a typo.
    static func closest(to text: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(Array(text.utf8), Array($0.utf8))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, best.0.utf8.count / 4) else { return nil }
        return best.0
    }

    /// Levenshtein distance over bytes.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The paths shown in "known keys" messages (secrets left out).
    static var documentedPaths: [String] {
        all.filter { !$0.isSecret }.map { $0.path.replacing(".*.", with: "[].") }
    }

    /// The key for a concrete path, with its list index.
    static func key(for path: String) -> (Key, Int?)? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false)
        for key in all {
            let pattern = key.path.split(separator: ".")
            guard pattern.count == parts.count else { continue }
            var index: Int?
            let matches = zip(pattern, parts).allSatisfy { expected, actual in
                if expected == "*" {
                    guard let number = Int(actual), (0..<16).contains(number) else { return false }
                    index = number
                    return true
                }
                return expected == actual
            }
            if matches { return (key, index) }
        }
        return nil
    }

    /// The key path an environment variable names (`PORTCULLIS_SESSION_COOKIES_0_DOMAIN` → `session.cookies.0.domain`).
    static func path(forEnvironmentName name: String) -> String? {
        for key in all {
            let pattern = ConfigurationLoader.environmentName(for: key.path)
            if !key.path.contains("*") {
                if pattern == name { return key.path }
                continue
            }
            let pieces = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count == 2, name.hasPrefix(pieces[0]), name.hasSuffix(pieces[1]),
                  name.count > pieces[0].count + pieces[1].count else { continue }
            let middle = name.dropFirst(pieces[0].count).dropLast(pieces[1].count)
            guard let index = Int(middle), index >= 0, middle.allSatisfy(\.isASCIIDigit) else { continue }
            return key.path.replacing("*", with: String(index))
        }
        return nil
    }

    /// Checks that need several keys at once.
    static func crossCheck(_ configuration: Configuration) -> [String] {
        var problems: [String] = []
        if let postgres = configuration.postgres {
            if configuration.sqlitePathIsSet {
                problems.append("storage.sqlite.path and storage.postgres are both given; configure exactly one store.")
            }
            if postgres.password != nil, postgres.passwordFile != nil {
                problems.append("storage.postgres.password and storage.postgres.password_file are both given; give one.")
            }
            if postgres.tlsCAFile != nil, postgres.tls != .verifyFull {
                problems.append("storage.postgres.tls_ca_file is given but storage.postgres.tls is \(postgres.tls.rawValue); certificates are only checked with verify-full.")
            }
        }
        for (index, cookie) in configuration.sessionCookies.enumerated() {
            let prefix = "session.cookies.\(index)"
            guard !cookie.domain.isEmpty else {
                problems.append("\(prefix).domain is missing; every session.cookies entry needs a domain.")
                continue
            }
            guard !cookie.portalURL.isEmpty, let portalHost = RedirectValidator.host(ofSafeURL: cookie.portalURL) else {
                problems.append("\(prefix).portal_url is missing; give the address of the login portal, such as https://auth.\(cookie.domain).")
                continue
            }
            if RedirectValidator(cookieDomains: [cookie.domain]).cookieDomain(for: portalHost) == nil {
                problems.append("\(prefix).portal_url is '\(cookie.portalURL)', whose host is not \(cookie.domain) or under it; the session cookie would not reach it.")
            }
            if cookie.secure, cookie.portalURL.lowercased().hasPrefix("http://") {
                problems.append("\(prefix).secure is true but portal_url is plain http ('\(cookie.portalURL)'); browsers drop Secure cookies there. Use https, or set secure: false for local tests only.")
            }
            if cookie.sameSite == .none, !cookie.secure {
                problems.append("\(prefix).same_site is none, which browsers only accept with secure: true.")
            }
            if let target = cookie.defaultRedirectURL, RedirectValidator(cookieDomains: [cookie.domain]).validate(target) == nil {
                problems.append("\(prefix).default_redirect_url is '\(target)', which is not on \(cookie.domain).")
            }
            for other in configuration.sessionCookies[..<index] where other.domain == cookie.domain {
                problems.append("\(prefix).domain '\(cookie.domain)' is listed twice.")
                _ = other
            }
        }
        if configuration.accessRules.isEmpty, configuration.accessDefaultPolicy == .bypass || configuration.accessDefaultPolicy == .deny {
            problems.append("access_control.default_policy is \(configuration.accessDefaultPolicy.rawValue) with no rules: every request would be \(configuration.accessDefaultPolicy == .bypass ? "let through without a login" : "refused"). Add rules, or use one_factor or two_factor.")
        }
        if configuration.sessionRememberMe > 0, configuration.sessionRememberMe < configuration.sessionExpiration {
            problems.append("session.remember_me (\(configuration.sessionRememberMe) s) is shorter than session.expiration (\(configuration.sessionExpiration) s); make it longer, or 0 to turn it off.")
        }
        if let metrics = configuration.metricsListen,
           listenersClash(metrics, ListenAddress(host: configuration.listenHost, port: configuration.listenPort)) {
            let other = ListenAddress(host: metrics.host, port: metrics.port == 9191 ? 9192 : 9191)
            problems.append("metrics.listen (\(metrics)) takes server.listen's port; give metrics a port of its own, such as \(other).")
        }
        if configuration.sessionInactivity > configuration.sessionExpiration {
            problems.append("session.inactivity (\(configuration.sessionInactivity) s) is longer than session.expiration (\(configuration.sessionExpiration) s).")
        }
        return problems
    }

    /// Changes `session.cookies[index]`, adding empty entries up to it as needed.
    static func updateCookie(_ configuration: inout Configuration, _ index: Int, _ change: (inout SessionCookieConfiguration) -> Void) {
        while configuration.sessionCookies.count <= index {
            configuration.sessionCookies.append(SessionCookieConfiguration(domain: "", portalURL: ""))
        }
        change(&configuration.sessionCookies[index])
    }

    /// Parses `host:port` or `[v6]:port`.
    /// Whether two listeners would need the same socket: the same port on a shared address
    /// (`localhost` is both loopback addresses; `0.0.0.0` and `::` are every address).
    static func listenersClash(_ first: ListenAddress, _ second: ListenAddress) -> Bool {
        guard first.port == second.port else { return false }
        func addresses(_ host: String) -> [IPAddress]? {
            if host == "localhost" { return [IPAddress("127.0.0.1")!, IPAddress("::1")!] }
            guard let address = IPAddress(host) else { return [] }
            return address == IPAddress("0.0.0.0")! || address == IPAddress("::")! ? nil : [address]
        }
        guard let one = addresses(first.host), let other = addresses(second.host) else { return true }
        return one.contains(where: other.contains)
    }

    static func parseListen(_ value: String) -> (String, Int)? {
        guard let colon = value.lastIndex(of: ":") else { return nil }
        var host = String(value[..<colon])
        guard let port = Int(value[value.index(after: colon)...]), (1...65_535).contains(port) else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard IPAddress(host) != nil || host == "localhost" || host == "0.0.0.0" else { return nil }
        return (host, port)
    }

    /// Sets one `storage.postgres.*` part, starting from the defaults when none was set yet.
    static func updatePostgres(_ config: inout Configuration, _ change: (inout PostgresSettings) -> Void) {
        var settings = config.postgres ?? PostgresSettings()
        change(&settings)
        config.postgres = settings
    }
}
