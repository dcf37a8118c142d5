import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct FormFieldsTests {
    @Test("fields are decoded: + is a space, %XX escapes, repeated names keep the first")
    func decoding() throws {
        let form = try #require(FormFields(parsing: "username=alice&code=123+456&rd=https%3A%2F%2Fapp.example.com%2F%3Fa%3D1&empty=&flag&username=bob"))
        #expect(form["username"] == "alice")
        #expect(form["code"] == "123 456")
        #expect(form["rd"] == "https://app.example.com/?a=1")
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
        #expect(form["missing"] == nil)
    }

    @Test("broken escapes, bytes that are not UTF-8 and too many fields make the whole input unreadable", arguments: [
        "a=%zz", "a=%4", "a=%ff%fe", String(repeating: "a=1&", count: 33),
    ])
    func refused(text: String) {
        #expect(FormFields(parsing: text) == nil)
    }

    @Test("encode and parse round-trip any text")
    func roundTrip() throws {
        var random = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let text = String((0..<Int.random(in: 0...30, using: &random)).map { _ in Character(Unicode.Scalar(UInt8.random(in: 32...126, using: &random))) }) + "é€"
            let form = try #require(FormFields(parsing: "v=" + FormFields.encode(text)))
            #expect(form["v"] == text)
        }
    }
}

@Suite struct SessionRulesTests {
    let client = IPAddress("198.51.100.7")!

    func state(lastActivity: Int64 = 1000, expiresAt: Int64 = 50_000) -> SessionState {
        SessionState(userName: "alice", createdAt: 1000, lastActivity: lastActivity, expiresAt: expiresAt, clientIP: client, cookieDomain: "example.com")
    }

    @Test("a session is valid inside its windows and asks for an activity write once a tenth of the inactivity has passed")
    func windows() {
        let policy = SessionPolicy(inactivity: 3600, binding: .off)
        #expect(policy.judge(state(), persistedActivity: 1000, now: 1100, client: client, cookieDomain: "example.com") == .valid(persistActivity: false))
        #expect(policy.judge(state(), persistedActivity: 1000, now: 1360, client: client, cookieDomain: "example.com") == .valid(persistActivity: true))
        #expect(policy.judge(state(), persistedActivity: 1000, now: 4600, client: client, cookieDomain: "example.com") == .expired)
        #expect(policy.judge(state(lastActivity: 49_000), persistedActivity: 49_000, now: 50_000, client: client, cookieDomain: "example.com") == .expired)
        #expect(policy.judge(state(), persistedActivity: 1000, now: 1100, client: client, cookieDomain: "home.lab") == .wrongDomain)
    }

    @Test("IP binding: exact needs the same address, prefix the same /24 or /64, off anything")
    func binding() {
        let v4 = IPAddress("198.51.100.7")!
        #expect(SessionPolicy.matches(v4, IPAddress("198.51.100.200")!, binding: .prefix))
        #expect(!SessionPolicy.matches(v4, IPAddress("198.51.101.7")!, binding: .prefix))
        #expect(!SessionPolicy.matches(v4, IPAddress("198.51.100.8")!, binding: .exact))
        #expect(SessionPolicy.matches(v4, IPAddress("2001:db8::1")!, binding: .off))
        let v6 = IPAddress("2001:db8:1:2::1")!
        #expect(SessionPolicy.matches(v6, IPAddress("2001:db8:1:2:ffff::9")!, binding: .prefix))
        #expect(!SessionPolicy.matches(v6, IPAddress("2001:db8:1:3::1")!, binding: .prefix))
        #expect(!SessionPolicy.matches(v6, v4, binding: .prefix))
        let policy = SessionPolicy(inactivity: 3600, binding: .exact)
        #expect(policy.judge(state(), persistedActivity: 1000, now: 1100, client: IPAddress("198.51.100.8")!, cookieDomain: "example.com") == .ipMismatch)
    }

    @Test("session tokens are 43 base64url characters of 32 random bytes; anything else is refused")
    func tokens() {
        var random = SeededGenerator(seed: 1)
        let token = SessionToken.generate(using: &random)
        #expect(token.cookieValue.count == 43)
        #expect(!token.cookieValue.contains("+") && !token.cookieValue.contains("/") && !token.cookieValue.contains("="))
        #expect(SessionToken(cookieValue: token.cookieValue) == token)
        #expect(token.storageHash.count == 32 && token.storageHash != token.bytes)
        for bad in ["", String(token.cookieValue.dropLast()), token.cookieValue + "A", String(repeating: "!", count: 43), String(repeating: "é", count: 43)] {
            #expect(SessionToken(cookieValue: bad) == nil, "\(bad)")
        }
    }

    @Test("cookies are read by exact name and written with the configured attributes")
    func cookies() {
        #expect(Cookies.value(named: "s", in: "a=1; s=two; ss=3") == "two")
        #expect(Cookies.value(named: "s", in: "ss=3;xs=4") == nil)
        #expect(Cookies.value(named: "s", in: nil) == nil)
        let config = SessionCookieConfiguration(domain: "example.com", portalURL: "https://auth.example.com", sameSite: .strict)
        #expect(Cookies.setCookie("v", for: config, maxAge: 60) == "portcullis_session=v; Path=/; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=Strict")
        let local = SessionCookieConfiguration(domain: "localhost", portalURL: "http://localhost:9091", secure: false)
        #expect(Cookies.setCookie("v", for: local, maxAge: nil) == "portcullis_session=v; Path=/; HttpOnly; SameSite=Lax")
    }
}

@Suite struct ForwardAuthDeciderTests {
    let decider = ForwardAuthDecider(cookies: [SessionCookieConfiguration(domain: "example.com", portalURL: "https://auth.example.com/")])

    @Test("the original URL is rebuilt from X-Forwarded-* or X-Original-URL")
    func original() {
        let forwarded = VerifyRequest(forwardedMethod: "post", forwardedProto: "HTTPS", forwardedHost: "App.Example.com:8443", forwardedURI: "/a?b=1")
        #expect(decider.original(forwarded, style: .forwardAuth) == .original(OriginalRequest(method: "POST", url: "https://App.Example.com:8443/a?b=1", host: "app.example.com")))
        let nginx = VerifyRequest(originalURL: "https://app.example.com/x", originalMethod: "GET")
        #expect(decider.original(nginx, style: .authRequest) == .original(OriginalRequest(method: "GET", url: "https://app.example.com/x", host: "app.example.com")))
        // The legacy endpoint understands nginx's header too.
        #expect(decider.original(nginx, style: .forwardAuth) == decider.original(nginx, style: .authRequest))
        let noURI = VerifyRequest(forwardedProto: "http", forwardedHost: "app.example.com")
        #expect(decider.original(noURI, style: .forwardAuth) == .original(OriginalRequest(method: "GET", url: "http://app.example.com/", host: "app.example.com")))
    }

    @Test("forwarded values that do not make a safe URL are refused with 400", arguments: [
        VerifyRequest(forwardedProto: "ftp", forwardedHost: "app.example.com"),
        VerifyRequest(forwardedProto: "https", forwardedHost: "app.example.com", forwardedURI: "evil"),
        VerifyRequest(forwardedProto: "https", forwardedHost: "evil.com\\@app.example.com"),
        VerifyRequest(forwardedProto: "https", forwardedHost: "app.example.com", forwardedURI: "/a b"),
    ])
    func refused(request: VerifyRequest) {
        guard case .answer(.badRequest) = decider.original(request, style: .forwardAuth) else {
            Issue.record("accepted \(request)")
            return
        }
    }

    @Test("login URLs use the portal without its trailing slash and carry the original URL encoded")
    func loginURL() {
        let request = VerifyRequest(forwardedProto: "https", forwardedHost: "app.example.com", forwardedURI: "/a?b=1&c=%2F", accept: "text/html")
        guard case .original(let original) = decider.original(request, style: .forwardAuth) else {
            Issue.record("not rebuilt")
            return
        }
        #expect(decider.unauthenticated(original, request: request, style: .forwardAuth)
            == .redirect(status: 302, location: "https://auth.example.com/login?rd=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3D1%26c%3D%252F"))
    }
}
