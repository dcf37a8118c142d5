/// Reading the `Cookie` request header and writing `Set-Cookie` response headers.
public enum Cookies {
    /// The value of the first cookie called `name` in a `Cookie` header, or nil. Runs on every
    /// verify request, so it scans the header's bytes once and builds no string.
    public static func value(named name: String, in header: String?) -> Substring? {
        guard let header, header.utf8.count <= 8192 else { return nil }
        let utf8 = header.utf8
        let space = UInt8(ascii: " ")
        var pairStart = utf8.startIndex
        while pairStart < utf8.endIndex {
            let pairEnd = utf8[pairStart...].firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
            var start = pairStart
            while start < pairEnd, utf8[start] == space { start = utf8.index(after: start) }
            if let equals = utf8[start..<pairEnd].firstIndex(of: UInt8(ascii: "=")), utf8[start..<equals].elementsEqual(name.utf8) {
                let valueStart = utf8.index(after: equals)
                var end = pairEnd
                while end > valueStart, utf8[utf8.index(before: end)] == space { end = utf8.index(before: end) }
                return header[valueStart..<end]
            }
            pairStart = pairEnd == utf8.endIndex ? pairEnd : utf8.index(after: pairEnd)
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
