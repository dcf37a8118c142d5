/// `storage.postgres.*`: where the PostgreSQL store is and how to log in to it.
///
/// Given as one URL (`storage.postgres.url: postgres://portcullis@db.internal:5432/portcullis?sslmode=verify-full`)
/// or key by key; keys given beside the URL override its parts. A `host` that starts with `/` is the
/// folder of the server's Unix socket, as libpq reads it (`/var/run/postgresql`).
public struct PostgresSettings: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is encrypted, named as libpq's `sslmode`.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Never (a Unix socket, or a network you trust).
        case disable
        /// When the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// Always, without checking the certificate: refuses a server without TLS.
        case require
        /// Always, checking the certificate and that it names `host` (the system's CAs, or `tls_ca_file`).
        case verifyFull = "verify-full"
    }

    public var host = "localhost"
    public var port = 5432
    public var database = "portcullis"
    public var username = "portcullis"
    /// From `PORTCULLIS_STORAGE_POSTGRES_PASSWORD` (or `…_FILE`), or the URL; never logged.
    public var password: String?
    /// `storage.postgres.password_file`: a file holding the password, read when the store opens.
    public var passwordFile: String?
    public var tls: TLSMode = .prefer
    /// `storage.postgres.tls_ca_file`: PEM certificates to trust for `verify-full` instead of the system's.
    public var tlsCAFile: String?
    /// `storage.postgres.pool_size`: the most connections one instance opens.
    public var poolSize = 10

    public init() {}

    /// The socket's path when `host` is a folder (`/var/run/postgresql/.s.PGSQL.5432`), else nil.
    public var unixSocketPath: String? {
        host.hasPrefix("/") ? (host.hasSuffix("/") ? host : host + "/") + ".s.PGSQL.\(port)" : nil
    }

    /// "PostgreSQL database portcullis on db.internal:5432 as portcullis" (never the password).
    public var description: String {
        let place = unixSocketPath.map { "the socket \($0)" } ?? (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        return "PostgreSQL database \(database) on \(place) as \(username)"
    }

    static let maximumPoolSize = 200

    /// Whether the connection goes over a network without a checked certificate (a warning: someone
    /// on the path could read and change what the store holds, sessions included).
    public var isUncheckedNetworkConnection: Bool {
        guard unixSocketPath == nil, tls != .verifyFull else { return false }
        return !["localhost", "127.0.0.1", "::1"].contains(host.lowercased())
    }

    /// Reads a `postgres://` (or `postgresql://`) URL into these settings: user, password, host,
    /// port, database, and the query parameters `sslmode`, `host` (a socket folder) and `pool_size`.
    /// - Returns: false, changing nothing, when the URL is not one.
    public mutating func apply(url: String) -> Bool {
        var parsed = self
        guard url.utf8.count <= 2048, url.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\0" }) else { return false }
        var rest = Substring(url)
        guard let scheme = ["postgresql://", "postgres://"].first(where: { rest.lowercased().hasPrefix($0) }) else { return false }
        rest = rest.dropFirst(scheme.count)
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let user = Self.percentDecoded(parts[0]), !user.isEmpty, user.utf8.count <= 63 else { return false }
            parsed.username = user
            if parts.count == 2 {
                guard let password = Self.percentDecoded(parts[1]) else { return false }
                parsed.password = password
            }
        }
        if !rest.isEmpty {
            var hostPart = rest
            var portPart: Substring?
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]"), close > rest.index(after: rest.startIndex) else { return false }
                hostPart = rest[rest.index(after: rest.startIndex)..<close]
                let after = rest[rest.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { return false }
                    portPart = after.dropFirst()
                }
            } else if let colon = rest.firstIndex(of: ":") {
                // An IPv6 address goes in brackets: "[::1]:5432".
                guard rest[rest.index(after: colon)...].allSatisfy(\.isASCIIDigit) else { return false }
                hostPart = rest[..<colon]
                portPart = rest[rest.index(after: colon)...]
            }
            guard let host = Self.percentDecoded(hostPart) else { return false }
            if !host.isEmpty { parsed.host = host }
            if let portPart {
                guard let port = Int(portPart), (1...65535).contains(port) else { return false }
                parsed.port = port
            }
        }
        if !path.isEmpty {
            guard let database = Self.percentDecoded(path), !database.isEmpty, database.utf8.count <= 63, !database.contains("/") else { return false }
            parsed.database = database
        }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let value = Self.percentDecoded(parts[1]) else { return false }
            switch parts[0] {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else { return false }
                parsed.tls = mode
            case "host":
                guard !value.isEmpty else { return false }
                parsed.host = value
            case "pool_size":
                guard let size = Int(value), (1...Self.maximumPoolSize).contains(size) else { return false }
                parsed.poolSize = size
            default:
                return false
            }
        }
        self = parsed
        return true
    }

    /// Whether a URL may carry a password: a `user:…@` part (wherever its `@` is), or a
    /// `password` parameter. Errs on the side of yes.
    public static func urlHasPassword(_ url: String) -> Bool {
        guard let schemeEnd = afterScheme(Substring(url)) else { return url.contains("@") }
        let rest = url[schemeEnd...]
        if let at = rest.lastIndex(of: "@"), rest[..<at].contains(":") { return true }
        return rest.lowercased().contains("password")
    }

    /// The URL as it may be shown in a message: without what comes before its last `@` (a user's
    /// password) and without its query.
    public static func redacted(_ url: String) -> String {
        var shown = Substring(url)
        if let query = shown.firstIndex(of: "?") { shown = shown[..<query] }
        guard let schemeEnd = afterScheme(shown), let at = shown.lastIndex(of: "@"), at >= schemeEnd else { return String(shown) }
        return String(shown[..<schemeEnd]) + "…" + String(shown[at...])
    }

    /// Where the part after a URL's `://` starts, or nil when there is no `://`.
    static func afterScheme(_ text: Substring) -> Substring.Index? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix("://") { return text.index(index, offsetBy: 3) }
            index = text.index(after: index)
        }
        return nil
    }

    /// `%41` → `A`; nil for a malformed escape, a NUL or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = utf8.next(), let low = utf8.next(), Character(Unicode.Scalar(high)).isHexDigit,
                      Character(Unicode.Scalar(low)).isHexDigit, let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        guard !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
