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
    /// Every verify request comes here, so it reads the URL's bytes once, with no intermediate string.
    public static func host(ofSafeURL target: String) -> String? {
        var target = target
        return target.withUTF8 { host(ofSafeURLBytes: $0) }
    }

    private static func host(ofSafeURLBytes bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return nil }
        // Printable ASCII only, no space, no backslash: nothing a browser would strip or reinterpret.
        for byte in bytes where byte <= 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\\") { return nil }
        let start: Int
        if hasPrefix(bytes, lowercased: "https://") {
            start = 8
        } else if hasPrefix(bytes, lowercased: "http://") {
            start = 7
        } else {
            return nil
        }
        var end = start
        var colon: Int?
        while end < bytes.count {
            switch bytes[end] {
            case UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"): break
            case UInt8(ascii: "@"), UInt8(ascii: "%"): return nil
            case UInt8(ascii: ":"): colon = end; fallthrough
            default: end += 1; continue
            }
            break
        }
        var hostEnd = end
        if let colon {
            guard (1...5).contains(end - colon - 1) else { return nil }
            var port = 0
            for index in colon + 1..<end {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                port = port * 10 + Int(digit)
            }
            guard (1...65_535).contains(port) else { return nil }
            hostEnd = colon
        }
        let host = UnsafeBufferPointer(rebasing: bytes[start..<hostEnd])
        guard isHostName(host) else { return nil }
        return String(unsafeUninitializedCapacity: host.count) { output in
            for (index, byte) in host.enumerated() { output[index] = lowercased(byte) }
            return host.count
        }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    private static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, lowercased prefix: StaticString) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
        for index in 0..<prefix.utf8CodeUnitCount where lowercased(bytes[index]) != prefix.utf8Start[index] { return false }
        return true
    }

    /// ``isHostName(_:)`` over bytes: labels of ASCII letters, digits and hyphens.
    private static func isHostName(_ host: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !host.isEmpty, host.count <= 253 else { return false }
        var labelStart = 0
        for index in 0...host.count {
            guard index == host.count || host[index] == UInt8(ascii: ".") else {
                let byte = lowercased(host[index])
                guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-") else { return false }
                continue
            }
            let length = index - labelStart
            guard length > 0, length <= 63, host[labelStart] != UInt8(ascii: "-"), host[index - 1] != UInt8(ascii: "-") else { return false }
            labelStart = index + 1
        }
        return true
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
