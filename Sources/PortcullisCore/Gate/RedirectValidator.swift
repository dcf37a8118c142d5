/// Decides whether a redirect target (`rd`) may be followed after login.
///
/// Only absolute `http://` and `https://` URLs whose host is a configured cookie domain, or a
/// subdomain of one, pass. The check is deliberately strict: any control character, whitespace,
/// backslash, non-ASCII character, user-info (`@`) or percent sign in the host refuses the URL, which
/// closes the usual open-redirect tricks (`//evil.com`, `/\evil.com`, `https:evil.com`,
/// `https://example.com@evil.com`, `java\tscript:`, look-alike Unicode hosts).
///
/// ```swift
/// let validator = RedirectValidator(cookieDomains: ["example.com"])
/// validator.validate("https://app.example.com/x?y=1")  // "https://app.example.com/x?y=1"
/// validator.validate("https://example.com.evil.com/")   // nil
/// ```
public struct RedirectValidator: Sendable {
    /// Lowercased domains, without leading dots.
    public let cookieDomains: [String]
    /// The longest target accepted.
    public static let maximumLength = 4096

    public init(cookieDomains: [String]) {
        self.cookieDomains = cookieDomains.map { domain in
            let lowered = domain.lowercased()
            return lowered.hasPrefix(".") ? String(lowered.dropFirst()) : lowered
        }
    }

    /// The target if it is safe to redirect to, otherwise nil.
    public func validate(_ target: String) -> String? {
        guard let host = Self.host(ofSafeURL: target) else { return nil }
        return cookieDomain(for: host) == nil ? nil : target
    }

    /// The configured cookie domain that covers `host`, if any.
    public func cookieDomain(for host: String) -> String? {
        let host = host.lowercased()
        return cookieDomains.first { host == $0 || host.hasSuffix("." + $0) }
    }

    /// The lowercased host of an absolute http(s) URL made only of safe characters, or nil.
    public static func host(ofSafeURL target: String) -> String? {
        let bytes = Array(target.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return nil }
        // Printable ASCII only, no space, no backslash: nothing a browser would strip or reinterpret.
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) else { return nil }
        let lowered = target.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") {
            rest = lowered.dropFirst(8)
        } else if lowered.hasPrefix("http://") {
            rest = lowered.dropFirst(7)
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@"), !authority.contains("%") else { return nil }
        var host = authority
        if let colon = authority.lastIndex(of: ":") {
            let port = authority[authority.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCIIDigit), let number = Int(port), (1...65_535).contains(number) else {
                return nil
            }
            host = authority[..<colon]
        }
        guard isHostName(host) else { return nil }
        return String(host)
    }

    /// DNS host names: dot-separated labels of letters, digits and hyphens, no empty labels.
    static func isHostName(_ host: Substring) -> Bool {
        guard !host.isEmpty, host.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCIILetterOrDigit || $0 == "-" }
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isASCIILetterOrDigit: Bool { isASCIIDigit || ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
