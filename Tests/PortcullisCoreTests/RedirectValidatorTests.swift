import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct RedirectValidatorTests {
    let validator = RedirectValidator(cookieDomains: ["example.com", ".Home.Lab"])

    @Test("http(s) URLs on a cookie domain or below it pass unchanged", arguments: [
        "https://example.com", "https://example.com/", "https://app.example.com/path?query=1&b=%20#frag",
        "http://grafana.example.com:3000/d/abc?orgId=1", "https://a.b.c.example.com/", "HTTPS://APP.EXAMPLE.COM/x",
        "https://jupyter.home.lab/lab/tree/notebook.ipynb?reset", "https://xn--bcher-kva.example.com/",
    ])
    func allowed(target: String) {
        #expect(validator.validate(target) == target)
    }

    @Test("known open-redirect payloads never lead off the cookie domains")
    func openRedirects() {
        #expect(OpenRedirectPayloads.all.count >= 40)
        for payload in OpenRedirectPayloads.all {
            #expect(validator.validate(payload) == nil, "accepted \(payload.debugDescription)")
        }
    }

    @Test("over-long targets are refused")
    func length() {
        #expect(validator.validate("https://example.com/" + String(repeating: "a", count: 5000)) == nil)
    }

    @Test("the covering cookie domain is found for a host")
    func cookieDomain() {
        #expect(validator.cookieDomain(for: "App.Example.com") == "example.com")
        #expect(validator.cookieDomain(for: "home.lab") == "home.lab")
        #expect(validator.cookieDomain(for: "example.org") == nil)
    }
}

@Suite struct ClientIPTests {
    @Test("addresses parse, IPv4-mapped IPv6 becomes IPv4, junk is refused")
    func parsing() {
        #expect(IPAddress("192.0.2.1")?.bytes == [192, 0, 2, 1])
        #expect(IPAddress("::ffff:192.0.2.1") == IPAddress("192.0.2.1"))
        #expect(IPAddress("2001:db8::1")?.bytes.count == 16)
        #expect(IPAddress("2001:db8::1")?.description == "2001:db8::1")
        for junk in ["", "1.2.3", "256.1.1.1", "1.2.3.4:80", "example.com", "fe80::1%eth0", " 1.2.3.4", "::ffff:1.2.3.4.5"] {
            #expect(IPAddress(junk) == nil, "\(junk)")
        }
    }

    @Test("CIDR ranges contain what they should")
    func cidr() throws {
        let ten = try #require(CIDR("10.0.0.0/8"))
        #expect(ten.contains(IPAddress("10.255.1.2")!))
        #expect(!ten.contains(IPAddress("11.0.0.1")!))
        #expect(!ten.contains(IPAddress("::ffff:11.0.0.1")!))
        let v6 = try #require(CIDR("fd00::/8"))
        #expect(v6.contains(IPAddress("fd12:3456::1")!))
        #expect(!v6.contains(IPAddress("10.0.0.1")!))
        #expect(CIDR("127.0.0.1")?.prefixLength == 32)
        #expect(CIDR("0.0.0.0/0")?.contains(IPAddress("203.0.113.5")!) == true)
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "nonsense/8", "10.0.0.0/8/8", "::/129"] {
            #expect(CIDR(bad) == nil, "\(bad)")
        }
    }

    @Test("X-Forwarded-For is read only from trusted proxies, right-most untrusted entry first")
    func resolution() {
        let resolver = ClientIPResolver(trustedProxies: [CIDR("127.0.0.1/32")!, CIDR("10.0.0.0/8")!])
        let proxy = IPAddress("10.0.0.2")!
        let stranger = IPAddress("198.51.100.20")!
        #expect(resolver.resolve(peer: stranger, forwardedFor: "1.2.3.4") == stranger)
        #expect(resolver.resolve(peer: proxy, forwardedFor: nil) == proxy)
        #expect(resolver.resolve(peer: proxy, forwardedFor: "203.0.113.9") == IPAddress("203.0.113.9"))
        #expect(resolver.resolve(peer: proxy, forwardedFor: "1.1.1.1, 203.0.113.9, 10.0.0.7") == IPAddress("203.0.113.9"))
        #expect(resolver.resolve(peer: proxy, forwardedFor: "10.0.0.9, 10.0.0.7") == IPAddress("10.0.0.9"))
        #expect(resolver.resolve(peer: proxy, forwardedFor: "garbage, 10.0.0.7") == IPAddress("10.0.0.7"))
        #expect(resolver.resolve(peer: proxy, forwardedFor: "203.0.113.9, garbage") == proxy)
        #expect(resolver.resolve(peer: IPAddress("127.0.0.1")!, forwardedFor: " 2001:db8::5 ") == IPAddress("2001:db8::5"))
    }

    @Test("durations read as 90s, 15m, 12h, 30d and combinations", arguments: [
        ("90s", Int64(90)), ("15m", 900), ("12h", 43_200), ("30d", 2_592_000), ("1w", 604_800), ("1h30m", 5400),
        ("45", 45), (" 2H ", 7200),
    ])
    func durations(text: String, seconds: Int64) {
        #expect(DurationParser.seconds(text) == seconds)
    }

    @Test("malformed durations are refused", arguments: ["", "h", "10x", "-5m", "1.5h", "10m5", "99999999999999999999d"])
    func badDurations(text: String) {
        #expect(DurationParser.seconds(text) == nil)
    }
}

@Suite("web origins") struct WebOriginTests {
    @Test("scheme, host and port make an origin; the default port is filled in")
    func origins() {
        #expect(WebOrigin("https://auth.example.com") == WebOrigin("https://AUTH.example.com:443/login?x=1"))
        #expect(WebOrigin("http://auth.example.com") == WebOrigin("http://auth.example.com:80"))
        #expect(WebOrigin("https://auth.example.com") != WebOrigin("https://auth.example.com:8443"))
        #expect(WebOrigin("https://auth.example.com") != WebOrigin("http://auth.example.com"))
        #expect(WebOrigin(scheme: "HTTPS", authority: "auth.example.com:8443") == WebOrigin("https://auth.example.com:8443"))
        #expect(WebOrigin("null") == nil)
        #expect(WebOrigin("https://user@auth.example.com") == nil)
        #expect(WebOrigin("javascript:alert(1)") == nil)
        #expect(WebOrigin("https://auth.example.com:99999") == nil)
    }
}
