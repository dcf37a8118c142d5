/// A web origin (RFC 6454): scheme, host and port, with the scheme's default port filled in, so
/// `https://auth.example.com` and `https://auth.example.com:443` are the same origin and
/// `https://auth.example.com:8443` or `http://auth.example.com` are not.
///
/// ```swift
/// WebOrigin("https://auth.example.com/login") == WebOrigin("https://AUTH.example.com:443") // true
/// ```
public struct WebOrigin: Sendable, Hashable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int

    /// The origin of an absolute http(s) URL (or of an `Origin` header's value), or nil when it is
    /// not one made of safe characters (see ``RedirectValidator/host(ofSafeURL:)``).
    public init?(_ url: String) {
        guard let host = RedirectValidator.host(ofSafeURL: url) else { return nil }
        let lowered = url.lowercased()
        let secure = lowered.hasPrefix("https://")
        let authority = lowered.dropFirst(secure ? 8 : 7).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var port = secure ? 443 : 80
        if let colon = authority.lastIndex(of: ":"), let explicit = Int(authority[authority.index(after: colon)...]) { port = explicit }
        self.scheme = secure ? "https" : "http"
        self.host = host
        self.port = port
    }

    /// The origin a request was made to: its scheme and `Host` (or forwarded host) authority.
    public init?(scheme: String, authority: String) {
        self.init(scheme.lowercased() + "://" + authority)
    }

    public var description: String { "\(scheme)://\(host):\(port)" }
}
