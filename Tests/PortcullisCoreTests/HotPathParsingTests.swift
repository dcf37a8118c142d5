import PortcullisCore
import Testing

/// The verify path's parsers read bytes instead of Characters. Each is checked against the
/// Character-based reading it replaced (kept here as the reference) on many generated inputs built
/// from the characters that matter: separators, case, digits, non-ASCII and control bytes.
@Suite struct HotPathParsingTests {
    /// A deterministic generator, so a failure can be reproduced.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func text(from pieces: [String], count: Int, using generator: inout SplitMix) -> String {
        (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined()
    }

    // MARK: The references: the Character-based code these functions had before.

    static func referenceHost(_ target: String) -> String? {
        let bytes = Array(target.utf8)
        guard !bytes.isEmpty, bytes.count <= RedirectValidator.maximumLength else { return nil }
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
            guard !port.isEmpty, port.count <= 5, port.allSatisfy({ ("0"..."9").contains($0) }), let number = Int(port),
                  (1...65_535).contains(number) else { return nil }
            host = authority[..<colon]
        }
        guard !host.isEmpty, host.count <= 253 else { return nil }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
        return valid ? String(host) : nil
    }

    static func referenceCookie(named name: String, in header: String?) -> Substring? {
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

    static func referenceToken(_ value: String) -> [UInt8]? {
        guard value.utf8.count == 43 else { return nil }
        let standard = String(value.map { $0 == "-" ? "+" : ($0 == "_" ? "/" : $0) })
        guard let bytes = Base64.decode(standard), bytes.count == 32 else { return nil }
        return bytes
    }

    // MARK: The comparisons

    @Test("the host of a URL, as before, on 40 000 generated URLs")
    func hostMatchesReference() {
        var generator = SplitMix(state: 1)
        let schemes = ["http://", "https://", "HTTPS://", "hTtP://", "ftp://", "https:/", "", "https://user@"]
        let pieces = ["a", "Z", "9", "-", ".", ":", "443", "65535", "65536", "0", "/", "?", "#", "@", "%", "\\", " ", "é", "\t", "x", "example",
                      "[::1]", "..", "-a", "a-"]
        for round in 0..<40_000 {
            let url = schemes.randomElement(using: &generator)! + Self.text(from: pieces, count: round % 14, using: &generator)
            #expect(RedirectValidator.host(ofSafeURL: url) == Self.referenceHost(url), "\(url)")
        }
        let long = "https://" + String(repeating: "a", count: 63) + "." + String(repeating: "b", count: 64) + "/"
        #expect(RedirectValidator.host(ofSafeURL: long) == nil)
        #expect(RedirectValidator.host(ofSafeURL: "HTTPS://App.Example.COM:8443/x?y#z") == "app.example.com")
    }

    @Test("a cookie's value from a Cookie header, as before, on 40 000 generated headers")
    func cookieMatchesReference() {
        var generator = SplitMix(state: 2)
        let pieces = ["portcullis_session", "=", ";", " ", "; ", "a", "b=c", "portcullis", "_session", "é", "\u{301}", "==", "x", "\t"]
        for round in 0..<40_000 {
            let header = Self.text(from: pieces, count: round % 16, using: &generator)
            let ours = Cookies.value(named: "portcullis_session", in: header)
            let reference = Self.referenceCookie(named: "portcullis_session", in: header)
            // Identical for every header whose separators are not combined with a following mark
            // (which the Character-based split could not see as separators).
            if !header.unicodeScalars.contains("\u{301}") {
                #expect(ours.map(String.init) == reference.map(String.init), "\(header)")
            }
        }
        #expect(Cookies.value(named: "s", in: "a=1;  s=two  ; s=3") == "two")
        #expect(Cookies.value(named: "s", in: "as=1; s") == nil)
    }

    @Test("a session token from a cookie value, as before, on 40 000 generated values")
    func tokenMatchesReference() {
        var generator = SplitMix(state: 3)
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/".map(String.init)
        let odd = ["=", "é", " ", ".", "*"]
        for round in 0..<40_000 {
            var value = Self.text(from: alphabet, count: 43 + (round % 7 == 0 ? Int.random(in: -2...2, using: &generator) : 0), using: &generator)
            if round % 5 == 0, !value.isEmpty {
                let position = value.index(value.startIndex, offsetBy: Int.random(in: 0..<value.count, using: &generator))
                value.replaceSubrange(position...position, with: odd.randomElement(using: &generator)!)
            }
            #expect(SessionToken(cookieValue: value)?.bytes == Self.referenceToken(value), "\(value)")
            let header = "a=b; " + value
            #expect(SessionToken(cookieValue: header.dropFirst(5))?.bytes == Self.referenceToken(value), "\(value) in a header")
        }
        var random = SystemRandomNumberGenerator()
        let token = SessionToken.generate(using: &random)
        #expect(SessionToken(cookieValue: token.cookieValue) == token)
    }
}
