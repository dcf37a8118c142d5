/// Reading the `Cookie` request header and writing `Set-Cookie` response headers.
public enum Cookies {
    /// The value of the first cookie called `name` in a `Cookie` header, or nil.
    public static func value(named name: String, in header: String?) -> Substring? {
        guard let header, header.utf8.count <= 8192 else { return nil }
        for pair in header.split(separator: ";") {
            let trimmed = pair.drop(while: { $0 == " " })
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            if trimmed[..<equals] == name {
                var value = trimmed[trimmed.index(after: equals)...]
                while value.last == " " { value = value.dropLast() }
                return value
            }
        }
        return nil
    }

    /// A `Set-Cookie` value for a session cookie of `cookie`'s domain. `maxAge` nil makes a browser-session
    /// cookie; 0 deletes it. Domains without a dot (`localhost`) get a host-only cookie.
    public static func setCookie(_ value: String, for cookie: SessionCookieConfiguration, maxAge: Int64?) -> String {
        var parts = ["\(cookie.name)=\(value)", "Path=\(cookie.path)"]
        if cookie.domain.contains(".") { parts.append("Domain=\(cookie.domain)") }
        if let maxAge { parts.append("Max-Age=\(max(0, maxAge))") }
        parts.append("HttpOnly")
        if cookie.secure { parts.append("Secure") }
        parts.append("SameSite=\(cookie.sameSite.rawValue)")
        return parts.joined(separator: "; ")
    }

    /// The `Set-Cookie` value for the login form's CSRF cookie: host-only, strict, short-lived.
    public static func csrfCookie(_ value: String, secure: Bool, maxAge: Int64 = 3600) -> String {
        var parts = ["portcullis_csrf=\(value)", "Path=/", "Max-Age=\(maxAge)", "HttpOnly"]
        if secure { parts.append("Secure") }
        parts.append("SameSite=Strict")
        return parts.joined(separator: "; ")
    }
}
