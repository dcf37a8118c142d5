import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortcullisCore
@testable import PortcullisServer
import PortcullisStore
import Testing

/// `one_factor` addresses logged in with the password alone, step-up to two factors with the code
/// only, the page a denied browser sees, and app passwords limited to one factor.
@Suite("one factor, step-up and the denied page") struct StepUpTests {
    static let wiki = "https://app.example.com/wiki/home"
    static let reports = "https://app.example.com/reports/q3"

    static func configuration() throws -> Configuration {
        var configuration = GateHarness.exampleConfiguration()
        let app = [DomainPattern("app.example.com")!]
        configuration.accessDefaultPolicy = .twoFactor
        configuration.accessRules = [
            try AccessRule(domains: app, resources: [ResourcePattern("^/wiki/")], policy: .oneFactor),
            try AccessRule(domains: app, resources: [ResourcePattern("^/staff/")], subject: SubjectCondition(alternatives: [[.group("admins")]]), policy: .deny),
        ]
        return configuration
    }

    static func verify(_ client: some TestClientProtocol, _ uri: String, cookie: String? = nil, accept: String = "text/html",
                       extra: HTTPFields = [:]) async throws -> TestResponse {
        try await client.execute(uri: "/api/authz/forward-auth", method: .get, headers: Requests.forwardAuth(uri: uri, accept: accept, cookie: cookie, extra: extra))
    }

    static func wrong(_ code: String) -> String { String(format: "%06d", (Int(code)! + 500_000) % 1_000_000) }

    @Test("a one_factor address asks for the password only; that session steps up with a code alone, under a new id")
    func stepUp() async throws {
        let harness = try await GateHarness.make(try Self.configuration())
        defer { Task { await harness.close() } }
        try await harness.addUser("alice", groups: ["dev"])
        try await harness.withRouter { client, _ in
            var browser = Browser()
            // The form for a one-factor address has no code field.
            let form = try await browser.get(client, "/login?rd=" + FormFields.encode(Self.wiki))
            #expect(Page.text(form).contains("id=\"password\"") && !Page.text(form).contains("id=\"code\""))
            let twoFactorForm = try await browser.get(client, "/login?rd=" + FormFields.encode(Self.reports))
            #expect(Page.text(twoFactorForm).contains("id=\"code\""), "a two-factor address asks for the code")
            let csrf = Page.csrfToken(form) ?? ""

            // The password alone is refused for a two-factor address, and wrong passwords say so plainly.
            let short = try await browser.post(client, "/login", [("csrf", csrf), ("username", "alice"), ("password", "correct horse"), ("rd", Self.reports)])
            #expect(short.status == .unauthorized && browser.cookies["portcullis_session"] == nil)
            let wrong = try await browser.post(client, "/login", [("csrf", csrf), ("username", "alice"), ("password", "wrong horse"), ("rd", Self.wiki)])
            #expect(wrong.status == .unauthorized && Page.text(wrong).contains("Incorrect username or password."))

            // The right password: a session of one factor.
            let login = try await browser.post(client, "/login", [("csrf", csrf), ("username", "alice"), ("password", "correct horse"), ("rd", Self.wiki)])
            #expect(login.status == .seeOther && login.headers[.location] == Self.wiki)
            let passwordOnly = browser.sessionCookie
            #expect(try await harness.store.liveSessions(at: harness.clock.now).map(\.0.authLevel) == [AuthLevel.password.rawValue])
            let opened = try await Self.verify(client, "/wiki/page", cookie: passwordOnly)
            #expect(opened.status == .ok && opened.headers[HeaderNames.remoteUser] == "alice")
            // A two-factor address sends the browser to the login page (a script gets 401).
            let needsCode = try await Self.verify(client, "/reports/q3", cookie: passwordOnly)
            #expect(needsCode.status == .found && needsCode.headers[.location]?.hasPrefix("https://auth.example.com/login?rd=") == true)
            #expect(try await Self.verify(client, "/reports/q3", cookie: passwordOnly, accept: "application/json").status == .unauthorized)

            // The login page asks for the code only, naming who is logged in.
            let stepUpPage = try await browser.get(client, "/login?rd=" + FormFields.encode(Self.reports))
            let html = Page.text(stepUpPage)
            #expect(stepUpPage.status == .ok && html.contains("name=\"step_up\"") && html.contains("logged in as <strong>alice</strong>"))
            #expect(!html.contains("id=\"password\"") && !html.contains("id=\"username\"") && html.contains("id=\"code\""))
            let stepCSRF = Page.csrfToken(stepUpPage) ?? ""
            let code = harness.code()
            let refused = try await browser.post(client, "/login", [("csrf", stepCSRF), ("step_up", "1"), ("code", Self.wrong(code)), ("rd", Self.reports)])
            #expect(refused.status == .unauthorized && Page.text(refused).contains("Incorrect code."))
            #expect(browser.sessionCookie == passwordOnly)
            #expect(try await Self.verify(client, "/wiki/page", cookie: passwordOnly).status == .ok)

            let upgraded = try await browser.post(client, "/login", [("csrf", stepCSRF), ("step_up", "1"), ("code", code), ("rd", Self.reports)])
            #expect(upgraded.status == .seeOther && upgraded.headers[.location] == Self.reports)
            #expect(browser.sessionCookie != passwordOnly, "a new session id")
            #expect(try await Self.verify(client, "/reports/q3", cookie: browser.sessionCookie).headers[HeaderNames.remoteUser] == "alice")
            #expect(try await Self.verify(client, "/wiki/page", cookie: passwordOnly).status == .found, "the old session ended")
            #expect(try await harness.store.liveSessions(at: harness.clock.now).map(\.0.authLevel) == [AuthLevel.passwordAndCode.rawValue])
            // Audited: the wrong code (it counts towards the lockout like any wrong code), then the step-up.
            let audit = try await harness.store.auditEntries(userName: "alice", since: 0, limit: 100)
            #expect(audit.filter { $0.event == .loginFailed }.map(\.reason).suffix(1) == ["bad_otp"])
            #expect(audit.filter { $0.event == .loginSucceeded }.map(\.reason) == ["form", "step_up"])
            // A used code is refused on a second step-up attempt with the old cookie: there is no session to upgrade.
            var stale = Browser()
            stale.cookies = browser.cookies
            stale.cookies["portcullis_session"] = String(passwordOnly.dropFirst("portcullis_session=".count))
            let again = try await stale.post(client, "/login", [("csrf", stepCSRF), ("step_up", "1"), ("code", harness.code()), ("rd", Self.reports)])
            #expect(again.status == .unauthorized && Page.text(again).contains("Your session has ended"))
        }
    }

    @Test("step-up is offered for an address whose POST needs two factors though its GET needs one; a session ended meanwhile is not upgraded")
    func stepUpByMethod() async throws {
        var configuration = try Self.configuration()
        configuration.accessRules.insert(try AccessRule(domains: [DomainPattern("app.example.com")!], resources: [ResourcePattern("^/forms/")],
                                                        methods: ["POST"], policy: .twoFactor), at: 0)
        configuration.accessRules.insert(try AccessRule(domains: [DomainPattern("app.example.com")!], resources: [ResourcePattern("^/forms/")],
                                                        policy: .oneFactor), at: 1)
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.addUser("alice", groups: ["dev"])
        try await harness.withRouter { client, gate in
            var browser = Browser()
            let form = "https://app.example.com/forms/leave"
            let page = try await browser.get(client, "/login?rd=" + FormFields.encode(form))
            #expect(!Page.text(page).contains("id=\"code\""), "the GET needs one factor: the password suffices to open the form")
            let csrf = Page.csrfToken(page) ?? ""
            _ = try await browser.post(client, "/login", [("csrf", csrf), ("username", "alice"), ("password", "correct horse"), ("rd", form)])
            #expect(try await Self.verify(client, "/forms/leave", cookie: browser.sessionCookie).status == .ok)
            let post = try await client.execute(uri: "/api/authz/forward-auth", method: .get,
                                                headers: Requests.forwardAuth(uri: "/forms/leave", method: "POST", cookie: browser.sessionCookie))
            #expect(post.status == .seeOther, "the POST needs the code")
            let stepUp = try await browser.get(client, "/login?rd=" + FormFields.encode(form))
            #expect(Page.text(stepUp).contains("name=\"step_up\""), "the login page offers step-up, not a redirect back")

            // The session ends (another tab logged out) before the code arrives: nothing is upgraded.
            let token = try #require(SessionToken(cookieValue: browser.cookies["portcullis_session"] ?? ""))
            _ = try await harness.store.deleteSession(idHash: token.storageHash)
            let late = try await browser.post(client, "/login", [("csrf", Page.csrfToken(stepUp) ?? ""), ("step_up", "1"), ("code", harness.code()), ("rd", form)])
            #expect(late.status == .unauthorized && Page.text(late).contains("Your session has ended"))
            #expect(try await harness.store.liveSessions(at: harness.clock.now).isEmpty)
            _ = gate
        }
    }

    @Test("in otp_only mode a code session satisfies two_factor and is never offered step-up")
    func otpOnly() async throws {
        var configuration = try Self.configuration()
        configuration.authMode = .otpOnly
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        try await harness.addUser("alice", password: nil, groups: ["dev"])
        try await harness.withRouter { client, _ in
            var browser = Browser()
            let page = try await browser.get(client, "/login?rd=" + FormFields.encode(Self.wiki))
            #expect(Page.text(page).contains("id=\"code\"") && !Page.text(page).contains("id=\"password\""), "otp_only asks for the code, even for one_factor")
            _ = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page) ?? ""), ("code", harness.code()), ("rd", Self.wiki)])
            #expect(try await harness.store.liveSessions(at: harness.clock.now).map(\.0.authLevel) == [AuthLevel.code.rawValue])
            #expect(try await Self.verify(client, "/reports/q3", cookie: browser.sessionCookie).headers[HeaderNames.remoteUser] == "alice")
            harness.clock.advance(30)
            let forged = try await browser.post(client, "/login", [("csrf", Page.csrfToken(page) ?? ""), ("step_up", "1"), ("code", harness.code()), ("rd", Self.reports)])
            #expect(forged.status == .unauthorized, "a code session is not upgraded to password and code")
            #expect(try await harness.store.liveSessions(at: harness.clock.now).map(\.0.authLevel) == [AuthLevel.code.rawValue])
        }
    }

    @Test("a session of two factors is not asked again; one made with a code alone in otp_only mode counts as two there")
    func levels() {
        let table: [(AuthLevel, AccessPolicy, AuthMode, Bool)] = [
            (.password, .oneFactor, .passwordAndOTP, true), (.password, .twoFactor, .passwordAndOTP, false),
            (.passwordAndCode, .twoFactor, .passwordAndOTP, true), (.code, .twoFactor, .passwordAndOTP, false),
            (.code, .twoFactor, .otpOnly, true), (.code, .oneFactor, .passwordAndOTP, true), (.passwordAndCode, .deny, .passwordAndOTP, false),
            (.password, .bypass, .passwordAndOTP, true),
        ]
        for (level, policy, mode, expected) in table {
            #expect(level.satisfies(policy, mode: mode) == expected, "\(level) \(policy) \(mode)")
        }
        #expect(AuthLevel.password.stepsUpWithCode && !AuthLevel.code.stepsUpWithCode && !AuthLevel.passwordAndCode.stepsUpWithCode)
        #expect(AuthLevel(stored: 0) == .password && AuthLevel(stored: 99) == .password, "an unknown stored level counts as the weakest")
    }

    @Test("a browser denied by a rule sees a page naming its user and the portal's logout; scripts get plain text; nginx's /denied shows the same")
    func deniedPage() async throws {
        let harness = try await GateHarness.make(try Self.configuration())
        defer { Task { await harness.close() } }
        try await harness.addUser("alice", groups: ["admins"])
        try await harness.withRouter { client, _ in
            var browser = Browser()
            _ = try await browser.logIn(client, code: harness.code())
            let page = try await Self.verify(client, "/staff/pay?<b>", cookie: browser.sessionCookie)
            let html = Page.text(page)
            #expect(page.status == .forbidden && page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(html.contains("You are logged in as <strong>alice</strong> and have no access to"))
            #expect(html.contains("https://app.example.com/staff/pay?&lt;b&gt;") && !html.contains("<b>"), "the address, escaped")
            #expect(html.contains("href=\"https://auth.example.com/logout\""))
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            let script = try await Self.verify(client, "/staff/pay", cookie: browser.sessionCookie, accept: "application/json")
            #expect(script.status == .forbidden && script.headers[.contentType] == "text/plain; charset=utf-8")
            #expect(Page.text(script).contains("You are logged in as alice and have no access"))

            // nginx asks the portal for the page, with the address in X-Original-URL.
            var fields: HTTPFields = [HTTPField.Name("X-Forwarded-Host")!: "app.example.com", .cookie: browser.sessionCookie,
                                      HTTPField.Name("X-Original-URL")!: "https://app.example.com/staff/pay"]
            let denied = try await client.execute(uri: "/denied", method: .get, headers: fields)
            #expect(denied.status == .forbidden && Page.text(denied).contains("logged in as <strong>alice</strong>"))
            #expect(Page.text(denied).contains("https://app.example.com/staff/pay"))
            fields[.cookie] = nil
            fields[HTTPField.Name("X-Original-URL")!] = "javascript:alert(1)"
            let anonymous = try await client.execute(uri: "/denied", method: .get, headers: fields)
            #expect(anonymous.status == .forbidden && Page.text(anonymous).contains("You have no access to this address"))
            #expect(!Page.text(anonymous).contains("javascript:"))
        }
    }

    @Test("an app password of one factor opens one_factor addresses only, on first use and while it lingers")
    func appPasswordLevel() async throws {
        let harness = try await GateHarness.make(try Self.configuration())
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice", groups: ["dev"])
        var random = SystemRandomNumberGenerator()
        let oneFactor = AppPassword.generate(using: &random)
        let twoFactor = AppPassword.generate(using: &random)
        _ = try await harness.store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "wiki-sync", hash: oneFactor.storageHash,
                                                                     createdAt: harness.clock.now, level: .password))
        _ = try await harness.store.addAppPassword(AppPasswordRecord(userID: alice.id, label: "reports", hash: twoFactor.storageHash, createdAt: harness.clock.now))
        #expect(try await harness.store.appPasswords(ofUserID: alice.id).map(\.level) == [.password, .passwordAndCode])
        let server = try await harness.server()
        try await Application(router: server.router).test(.router) { (client: any TestClientProtocol) async throws in
            func basic(_ uri: String, _ password: String) async throws -> TestResponse {
                let credential = "Basic " + Data("alice:\(password)".utf8).base64EncodedString()
                return try await Self.verify(client, uri, accept: "*/*", extra: [.authorization: credential])
            }
            for round in ["first use", "lingering"] {
                #expect(try await basic("/wiki/x", oneFactor.text).headers[HeaderNames.remoteUser] == "alice", "\(round)")
                let refused = try await basic("/reports/q3", oneFactor.text)
                #expect(refused.status == .forbidden && Page.text(refused).contains("only addresses that need one factor"), "\(round)")
                #expect(try await basic("/reports/q3", twoFactor.text).headers[HeaderNames.remoteUser] == "alice", "\(round)")
            }
        }
    }
}
