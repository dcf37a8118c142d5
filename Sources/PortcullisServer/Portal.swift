import Crypto
import HTTPTypes
import Hummingbird
public import Logging
import NIOCore
import PortcullisCore
public import PortcullisStore

/// The pages people see: log in, log out, and the health check.
public struct Portal: Sendable {
    let gate: Gate
    let authenticator: Authenticator
    let store: any Store
    let csrf: CSRFGuard
    let regulator: Regulator
    let logger: Logger

    /// The configuration in force (it follows reloads; see ``GateSettings/configuration``).
    var configuration: Configuration { gate.settings.current.configuration }
    /// `portal.title` and `portal.logo_file`, as now in force.
    var page: PortalPage { gate.settings.current.page }

    /// - Parameter csrfKey: the key of the forms' CSRF tokens, the same on every instance of a store
    ///   (``SharedKey/csrf``); a random one when nil (one instance, tests).
    public init(gate: Gate, authenticator: Authenticator, store: any Store, logger: Logger, csrfKey: [UInt8]? = nil) {
        self.gate = gate
        self.csrf = csrfKey.map { CSRFGuard(key: SymmetricKey(data: $0)) } ?? CSRFGuard()
        self.authenticator = authenticator
        self.store = store
        self.regulator = Regulator(store: store, policy: { [settings = gate.settings] in settings.current.configuration.effectiveRegulation },
                                   pseudonyms: authenticator.vault.pseudonyms, logger: logger, metrics: gate.metrics)
        self.logger = logger
    }

    func add(to router: Router<GateContext>) {
        router.get("/") { request, context in try await home(request, context) }
        router.get("/login") { request, context in try await showLogin(request, context) }
        router.post("/login") { request, context in try await login(request, context) }
        router.get("/logout") { request, context in try await showLogout(request, context) }
        router.post("/logout") { request, context in try await logout(request, context) }
        router.get("/denied") { request, context in try await showDenied(request, context) }
        router.get("/recovered") { request, context in try await showRecovered(request, context) }
        router.get("/enroll") { request, context in try await showEnrollment(request, context) }
        router.post("/enroll") { request, context in try await enroll(request, context) }
        addAccountRoutes(to: router)
        router.get("/api/health") { _, _ in await health() }
    }

    // MARK: Where the request is

    /// What the page needs to know about the request: its cookie settings, client and CSRF cookie.
    struct Visit {
        /// The host the browser asked for (from a trusted proxy's X-Forwarded-Host, else Host).
        let host: String
        let cookie: SessionCookieConfiguration
        let client: IPAddress
        let csrfCookie: String?
        let nonce = PortalResponses.nonce()
    }

    enum VisitOrHost {
        case success(Visit)
        case unknownHost
    }

    /// The host the browser asked for: a trusted proxy's X-Forwarded-Host, else Host.
    func requestHost(_ request: Request, _ context: GateContext) -> String {
        let trusted = gate.resolver.isTrusted(context.peerAddress)
        return Self.hostWithoutPort((trusted ? request.headers[HeaderNames.forwardedHost] : nil) ?? request.head.authority ?? "")
    }

    /// The visit, unless the portal was reached under a host no cookie domain covers.
    func visit(_ request: Request, _ context: GateContext) -> VisitOrHost {
        let host = requestHost(request, context)
        let cookie = configuration.effectiveSessionCookies.first { RedirectValidator.host(ofSafeURL: $0.portalURL) == host } ?? gate.decider.cookie(for: host)
        guard let cookie else { return .unknownHost }
        let client = gate.resolver.resolve(peer: context.peerAddress, forwardedFor: request.headers[HeaderNames.forwardedFor])
        return .success(Visit(host: host, cookie: cookie, client: client, csrfCookie: csrf.cookieValue(in: request.headers[.cookie])))
    }

    /// The page explaining that the portal was reached under a host it does not serve.
    func wrongHostPage(_ request: Request, _ context: GateContext) -> Response {
        let nonce = PortalResponses.nonce()
        let portals = configuration.effectiveSessionCookies.map(\.portalURL).joined(separator: ", ")
        let text = "This portal is not configured for the host '\(requestHost(request, context))'. Open it at \(portals), or add the domain to session.cookies."
        return PortalResponses.page(page.message(heading: "Wrong address", text: text, link: nil, nonce: nonce), status: .badRequest, nonce: nonce, cookie: nil)
    }

    static func hostWithoutPort(_ authority: String) -> String {
        let first = authority.split(separator: ",").first.map { $0.trimmingASCIIWhitespace() } ?? ""
        if first.hasPrefix("["), let end = first.firstIndex(of: "]") {
            return String(first[first.index(after: first.startIndex)..<end]).lowercased()
        }
        return String(first.split(separator: ":").first ?? "").lowercased()
    }

    /// Refuses POSTs another site made a browser send: `Origin`, when it names one, must be this
    /// portal's origin — scheme, host and port — or the origin the request was made to, and
    /// `Sec-Fetch-Site`, when present, must not be `cross-site`.
    func isSameOrigin(_ request: Request, _ context: GateContext, visit: Visit) -> Bool {
        if request.headers[HeaderNames.secFetchSite]?.lowercased() == "cross-site" { return false }
        // Browsers send `Origin: null` when the page's referrer policy is no-referrer (ours is);
        // then Sec-Fetch-Site above and the CSRF token decide.
        guard let origin = request.headers[HeaderNames.origin], origin != "null" else { return true }
        guard let sent = WebOrigin(origin) else { return false }
        if sent == WebOrigin(visit.cookie.portalURL) { return true }
        let trusted = gate.resolver.isTrusted(context.peerAddress)
        let scheme = (trusted ? request.headers[HeaderNames.forwardedProto] : nil) ?? "http"
        let authority = (trusted ? request.headers[HeaderNames.forwardedHost] : nil) ?? request.head.authority ?? ""
        return sent == WebOrigin(scheme: scheme, authority: authority)
    }

    // MARK: Log in

    func loginForm(visit: Visit, username: String = "", redirect: String?, error: String?) async throws -> PortalPage.LoginForm {
        let configuration = self.configuration
        let userCount = configuration.authMode == .passwordAndOTP ? 0 : try await store.users(first: 2).count
        let askUsername = configuration.authMode == .passwordAndOTP || userCount != 1
        return PortalPage.LoginForm(
            askUsername: askUsername, askPassword: configuration.authMode == .passwordAndOTP,
            askCode: !passwordSuffices(redirect: redirect, user: nil, visit: visit),
            offerRememberMe: configuration.sessionRememberMe > 0, rememberMeDays: max(1, configuration.sessionRememberMe / 86_400),
            username: username, redirect: redirect, csrfToken: "", error: error
        )
    }

    /// Whether the address the login leads to needs only the password (a `one_factor` rule) for
    /// `user` (nil: not known yet, and a rule that depends on who it is asks for the code). Without
    /// an address, or in `otp_only` mode, the form asks for the code.
    func passwordSuffices(redirect: String?, user: UserRecord?, visit: Visit) -> Bool {
        guard configuration.authMode == .passwordAndOTP, let redirect,
              let policy = gate.policy(forURL: redirect, identity: user.map(Identity.init), client: visit.client) else { return false }
        return policy == .oneFactor || policy == .bypass
    }

    /// The form asking a logged-in user for a code only, to open an address that needs two factors.
    func stepUpPage(visit: Visit, user: String, redirect: String?, error: String?, status: HTTPResponse.Status) -> Response {
        let form = PortalPage.LoginForm(askUsername: false, askPassword: false, stepUpUser: user, offerRememberMe: false, rememberMeDays: 0,
                                        redirect: redirect, csrfToken: "", error: error)
        return formPage(form, visit: visit, status: status)
    }

    /// The form page, with a CSRF cookie set if the browser has none.
    func formPage(_ form: PortalPage.LoginForm, visit: Visit, status: HTTPResponse.Status) -> Response {
        var form = form
        let cookieValue = visit.csrfCookie ?? csrf.newCookieValue()
        form.csrfToken = csrf.formToken(for: cookieValue)
        let setCookies = visit.csrfCookie == nil ? [Cookies.csrfCookie(cookieValue, secure: visit.cookie.secure)] : []
        return PortalResponses.page(page.login(form, nonce: visit.nonce), status: status, nonce: visit.nonce, cookie: visit.cookie, setCookies: setCookies)
    }

    func showLogin(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        let query = request.uri.query.flatMap { FormFields(parsing: $0) }
        let redirect = gate.decider.acceptedRedirect(query?["rd"], cookie: visit.cookie)
        if let (identity, level) = try await gate.session(cookieHeader: request.headers[.cookie], cookie: visit.cookie, client: visit.client) {
            guard let redirect else { return loggedInPage(identity, visit: visit) }
            // A session with fewer factors than the address needs: the code alone when the session
            // proved the password, else a whole new login.
            let policy = gate.strictestPolicy(forURL: redirect, identity: identity, client: visit.client) ?? .twoFactor
            if level.satisfies(policy, mode: configuration.authMode) || policy == .deny {
                return PortalResponses.redirect(to: redirect, status: .found)
            }
            if level.stepsUpWithCode {
                return stepUpPage(visit: visit, user: identity.user, redirect: redirect, error: nil, status: .ok)
            }
        }
        return try await formPage(loginForm(visit: visit, redirect: redirect, error: nil), visit: visit, status: .ok)
    }

    /// The portal's own page: who is logged in, with a logout button's link; the login form for
    /// nobody. A login without a usable `rd` (and no `default_redirect_url`) lands here.
    func home(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        guard let (identity, _) = try await gate.session(cookieHeader: request.headers[.cookie], cookie: visit.cookie, client: visit.client) else {
            return PortalResponses.redirect(to: "/login", status: .found)
        }
        return loggedInPage(identity, visit: visit)
    }

    func loggedInPage(_ identity: Identity, visit: Visit) -> Response {
        let html = page.loggedIn(user: identity.user, nonce: visit.nonce)
        return PortalResponses.page(html, status: .ok, nonce: visit.nonce, cookie: visit.cookie)
    }

    func login(_ request: Request, _ context: GateContext) async throws -> Response {
        // One reading of the settings for the whole login, even if a reload lands meanwhile.
        let configuration = self.configuration
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        guard isSameOrigin(request, context, visit: visit) else {
            return messagePage(visit, status: .forbidden, heading: "Refused", text: "This form was sent from another site. Open the login page directly and log in there.")
        }
        guard let form = try await readForm(request, context) else {
            return messagePage(visit, status: .badRequest, heading: "Unreadable form", text: "The login form could not be read. Reload the login page and try again.")
        }
        let redirect = gate.decider.acceptedRedirect(form["rd"], cookie: visit.cookie)
        if form["step_up"] == "1" { return try await stepUp(request, form: form, visit: visit, redirect: redirect) }
        let username = form["username"] ?? ""
        guard csrf.check(formToken: form["csrf"], cookieValue: visit.csrfCookie) else {
            let blank = try await loginForm(visit: visit, username: username, redirect: redirect, error: "The form expired. Please enter your details again.")
            return formPage(blank, visit: visit, status: .forbidden)
        }
        let now = gate.clock.now()
        let typedName = Self.validName(username)
        // With the hash queue full, the attempt is answered before it costs the store anything.
        let priority = regulator.returnsAsTold(visit.client, now: now)
        if let retryAfter = authenticator.hashQueueFull(priority: priority) {
            regulator.metrics.login(.busy)
            regulator.toldToRetry(visit.client, after: retryAfter, now: now)
            return try await busyPage(retryAfter: retryAfter, visit: visit, username: typedName, redirect: redirect)
        }
        let user = try await authenticator.findUser(typedName: typedName)
        let subject = regulator.subject(typedName: typedName, user: user)
        // The attempt takes its place in the count before any hashing or code check; a banned name
        // or address goes no further.
        let ticket: AttemptTicket
        switch try await regulator.begin(subject, client: visit.client, now: now) {
        case .admitted(let admitted): ticket = admitted
        case .banned(let ban): return try await bannedPage(ban, visit: visit, username: typedName, redirect: redirect, now: now)
        case .busy(let retryAfter): return try await busyPage(retryAfter: retryAfter, visit: visit, username: typedName, redirect: redirect)
        }
        let outcome: Authenticator.Outcome
        do {
            outcome = try await authenticator.authenticate(user: user, password: form["password"] ?? "", code: form["code"] ?? "", now: now,
                                                           priority: priority, passwordSuffices: passwordSuffices(redirect: redirect, user: user, visit: visit),
                                                           recoveryCodes: true)
        } catch let error as StoreError where error.code == .busy {
            await regulator.abandoned(ticket, now: now)
            let retryAfter = authenticator.vault.hashPool?.retryAfter ?? 1
            regulator.toldToRetry(visit.client, after: retryAfter, now: now)
            return try await busyPage(retryAfter: retryAfter, visit: visit, username: typedName, redirect: redirect)
        }
        switch outcome {
        case .unavailable:
            await regulator.abandoned(ticket, now: now)
            return try await secretsUnavailablePage(visit: visit, username: typedName, redirect: redirect)
        case .failure(let reason, let hint):
            let wrongCode = configuration.authMode == .passwordAndOTP && (reason == .badOTP || reason == .replayedOTP)
            if let ban = try await regulator.failed(ticket, subject: subject, reason: reason.rawValue, wrongCodeOf: wrongCode ? user?.id : nil, client: visit.client, now: now) {
                return try await bannedPage(ban, visit: visit, username: typedName, redirect: redirect, now: now)
            }
            let shownName = user?.name ?? typedName
            switch hint {
            case .locked?:
                let locked = try await loginForm(visit: visit, username: shownName, redirect: redirect,
                                                 error: "This account is locked after too many wrong codes. Ask your administrator to unlock it.")
                return formPage(locked, visit: visit, status: .forbidden)
            case .replayed?:
                let again = try await loginForm(visit: visit, username: shownName, redirect: redirect,
                                                error: "That code was already used. Wait for the next code and enter it with your password.")
                return formPage(again, visit: visit, status: .unauthorized)
            case .clockOff(let seconds)?:
                let again = try await loginForm(visit: visit, username: shownName, redirect: redirect,
                                                error: "That code is not valid now: your device's clock looks \(ClockOffsetText.describe(seconds)). Set its time automatically, then enter the current code.")
                return formPage(again, visit: visit, status: .unauthorized)
            case nil:
                var again = try await loginForm(visit: visit, username: typedName, redirect: redirect, error: nil)
                again.error = configuration.authMode == .otpOnly ? "Incorrect username or code."
                    : again.askCode ? "Incorrect username, password or code." : "Incorrect username or password."
                return formPage(again, visit: visit, status: .unauthorized)
            }
        case .success(let user, let level), .recoveryCodeUsed(let user, let level, _):
            let rememberMe = form["remember_me"] == "1" && configuration.sessionRememberMe > 0
            let lifetime = rememberMe ? configuration.sessionRememberMe : configuration.sessionExpiration
            let token = try await createSession(user: user, level: level, rememberMe: rememberMe, expiresAt: now + lifetime, visit: visit, now: now)
            let sessionCookie = Cookies.setCookie(token.cookieValue, for: visit.cookie, maxAge: rememberMe ? configuration.sessionRememberMe : nil)
            let target = gate.decider.redirectTarget(redirect, cookie: visit.cookie)
            guard case .recoveryCodeUsed = outcome else {
                try await regulator.succeeded(ticket, user: user, client: visit.client, now: now)
                return PortalResponses.redirect(to: target, setCookies: [sessionCookie])
            }
            try await regulator.succeeded(ticket, user: user, client: visit.client, now: now, method: "recovery_code")
            return PortalResponses.redirect(to: Self.recoveredPage(visit: visit, redirect: redirect), setCookies: [sessionCookie])
        }
    }

    /// Where a login with a recovery code goes (303, so that reloading never sends the spent code again).
    static func recoveredPage(visit: Visit, redirect: String?) -> String {
        visit.cookie.portalBase + "/recovered" + (redirect.map { "?rd=" + FormFields.encode($0) } ?? "")
    }

    /// `GET /recovered`: after a login with a recovery code, how many the logged-in user has left
    /// (read from the store, not from the address), what to do next, and a link on.
    func showRecovered(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        let redirect = gate.decider.acceptedRedirect(request.uri.query.flatMap { FormFields(parsing: $0) }?["rd"], cookie: visit.cookie)
        let target = gate.decider.redirectTarget(redirect, cookie: visit.cookie)
        guard let (identity, _) = try await gate.session(cookieHeader: request.headers[.cookie], cookie: visit.cookie, client: visit.client),
              let user = try await store.user(named: identity.user) else {
            return PortalResponses.redirect(to: target)
        }
        let remaining = try await store.recoveryCodeCount(userID: user.id)
        return recoveryCodeUsedPage(remaining: remaining, user: user.name, target: target, visit: visit)
    }

    /// After a login with a recovery code: how many are left, and what to do next, before going on.
    func recoveryCodeUsedPage(remaining: Int, user: String, target: String, visit: Visit) -> Response {
        let left = remaining == 0 ? "That was your last recovery code."
            : remaining == 1 ? "You have 1 recovery code left." : "You have \(remaining) recovery codes left."
        let text = "You are logged in with a recovery code, which cannot be used again. \(left) Add a new device for one-time codes soon, "
            + "and make new recovery codes, on your account page (it asks for a code first: a recovery code works there too)."
        let html = page.message(heading: "Logged in with a recovery code", text: text, link: (label: "Continue", url: target),
                                secondLink: (label: "Your account", url: visit.cookie.portalBase + "/account"), nonce: visit.nonce)
        return PortalResponses.page(html, status: .ok, nonce: visit.nonce, cookie: visit.cookie)
    }

    /// Step-up: a session made with the password alone gives a code, and is replaced by a session of
    /// two factors under a new id (the old one ends, in the store's change log too, so every server
    /// drops it). Counted by regulation like a login, and a wrong code counts towards the lockout.
    func stepUp(_ request: Request, form: FormFields, visit: Visit, redirect: String?) async throws -> Response {
        let now = gate.clock.now()
        guard let value = Cookies.value(named: visit.cookie.name, in: request.headers[.cookie]), let token = SessionToken(cookieValue: value),
              let (identity, level) = try await gate.session(cookieHeader: request.headers[.cookie], cookie: visit.cookie, client: visit.client),
              level.stepsUpWithCode,
              let (record, user) = try await store.liveSession(idHash: token.storageHash, at: now) else {
            let again = try await loginForm(visit: visit, redirect: redirect, error: "Your session has ended. Log in again.")
            return formPage(again, visit: visit, status: .unauthorized)
        }
        guard csrf.check(formToken: form["csrf"], cookieValue: visit.csrfCookie) else {
            return stepUpPage(visit: visit, user: identity.user, redirect: redirect, error: "The form expired. Enter the code again.", status: .forbidden)
        }
        let subject = regulator.subject(typedName: user.name, user: user)
        let ticket: AttemptTicket
        switch try await regulator.begin(subject, client: visit.client, now: now) {
        case .admitted(let admitted): ticket = admitted
        case .banned(let ban):
            return stepUpPage(visit: visit, user: user.name, redirect: redirect, error: "Too many failed attempts. Try again in \(ban.retryAfter(now: now)) seconds.", status: .tooManyRequests)
        case .busy(let retryAfter):
            return stepUpPage(visit: visit, user: user.name, redirect: redirect, error: "Many sign-ins are being checked right now. Wait \(retryAfter) seconds and try again.", status: .serviceUnavailable)
        }
        let outcome = try await authenticator.stepUp(user: user, code: form["code"] ?? "", now: now)
        switch outcome {
        case .unavailable:
            await regulator.abandoned(ticket, now: now)
            var response = stepUpPage(visit: visit, user: user.name, redirect: redirect, error: Self.secretsUnavailable, status: .serviceUnavailable)
            response.headers[.retryAfter] = String(Self.secretsRetryAfter)
            return response
        case .failure(let reason, let hint):
            let wrongCode = reason == .badOTP || reason == .replayedOTP
            if let ban = try await regulator.failed(ticket, subject: subject, reason: reason.rawValue, wrongCodeOf: wrongCode ? user.id : nil, client: visit.client, now: now) {
                return stepUpPage(visit: visit, user: user.name, redirect: redirect, error: "Too many failed attempts. Try again in \(ban.retryAfter(now: now)) seconds.", status: .tooManyRequests)
            }
            return stepUpPage(visit: visit, user: user.name, redirect: redirect, error: Self.codeFailureMessage(reason, hint: hint), status: hint == .locked ? .forbidden : .unauthorized)
        case .success(let user, let level), .recoveryCodeUsed(let user, let level, _):
            let recovered = if case .recoveryCodeUsed = outcome { true } else { false }
            // The old session ends first: a failure after it leaves the browser logged out, never with both.
            // If it ended meanwhile (a logout, a revocation, the user disabled), nothing is upgraded.
            _ = gate.cache.remove(token: token)
            guard try await store.deleteSession(idHash: token.storageHash) else {
                let again = try await loginForm(visit: visit, redirect: redirect, error: "Your session has ended. Log in again.")
                return formPage(again, visit: visit, status: .unauthorized)
            }
            let upgraded = try await createSession(user: user, level: level, rememberMe: record.rememberMe, expiresAt: record.expiresAt, visit: visit, now: now)
            try await regulator.succeeded(ticket, user: user, client: visit.client, now: now, method: recovered ? "recovery_code" : "step_up")
            let sessionCookie = Cookies.setCookie(upgraded.cookieValue, for: visit.cookie, maxAge: record.rememberMe ? max(1, record.expiresAt - now) : nil)
            let target = recovered ? Self.recoveredPage(visit: visit, redirect: redirect) : gate.decider.redirectTarget(redirect, cookie: visit.cookie)
            return PortalResponses.redirect(to: target, setCookies: [sessionCookie])
        }
    }

    /// The login form saying the server is busy checking other sign-ins, with 503 and `Retry-After`.
    func busyPage(retryAfter: Int64, visit: Visit, username: String, redirect: String?) async throws -> Response {
        let form = try await loginForm(visit: visit, username: username, redirect: redirect,
                                       error: "Many sign-ins are being checked right now. Wait \(retryAfter) second\(retryAfter == 1 ? "" : "s") and press Log in again.")
        var response = formPage(form, visit: visit, status: .serviceUnavailable)
        response.headers[.retryAfter] = String(retryAfter)
        return response
    }

    static let secretsUnavailable = "Sign-in is unavailable for a moment: the server cannot read the one-time-code secrets. Try again in a minute; if it goes on, tell your administrator (the server log says why)."
    static let secretsRetryAfter: Int64 = 30

    /// The login form saying that codes cannot be checked now (the storage key does not fit), with 503 and `Retry-After`.
    func secretsUnavailablePage(visit: Visit, username: String, redirect: String?) async throws -> Response {
        let form = try await loginForm(visit: visit, username: username, redirect: redirect, error: Self.secretsUnavailable)
        var response = formPage(form, visit: visit, status: .serviceUnavailable)
        response.headers[.retryAfter] = String(Self.secretsRetryAfter)
        return response
    }

    /// The login form saying when to try again, with 429 and `Retry-After`.
    func bannedPage(_ ban: Ban, visit: Visit, username: String, redirect: String?, now: Int64) async throws -> Response {
        let seconds = ban.retryAfter(now: now)
        let wait = seconds < 120 ? "\(seconds) seconds" : "\((seconds + 59) / 60) minutes"
        let form = try await loginForm(visit: visit, username: username, redirect: redirect, error: "Too many failed attempts. Try again in \(wait).")
        var response = formPage(form, visit: visit, status: .tooManyRequests)
        response.headers[.retryAfter] = String(seconds)
        return response
    }

    /// The typed name when it is a valid user name, else "".
    static func validName(_ typed: String) -> String {
        let trimmed = typed.trimmingASCIIWhitespace()
        return (try? UserFieldRules.validateName(trimmed)) == nil ? "" : trimmed
    }

    /// Stores a new session and adds it to the verify cache.
    /// `startedAt`: when the factors of the session were given (a renewed session keeps its login's time).
    func createSession(user: UserRecord, level: AuthLevel, rememberMe: Bool, expiresAt: Int64, visit: Visit, now: Int64, startedAt: Int64? = nil) async throws -> SessionToken {
        var random = SystemRandomNumberGenerator()
        let token = SessionToken.generate(using: &random)
        let record = SessionRecord(idHash: token.storageHash, userID: user.id, createdAt: startedAt ?? now, lastActivity: now, expiresAt: expiresAt,
                                   clientIP: visit.client.description, authLevel: level.rawValue, rememberMe: rememberMe, cookieDomain: visit.cookie.domain)
        try await store.createSession(record)
        // A session that leaves memory to make room stays valid in the store; only its activity is written.
        if let cached = CachedSession(record: record, user: user), let evicted = gate.cache.insert(cached, token: token) {
            gate.writes.enqueue(.touch(idHash: evicted.idHash, at: evicted.at))
        }
        return token
    }

    /// Brings this server's memory of a user's sessions in step with the store at once, after a
    /// change made here ended some (other servers follow the store's change log).
    func syncSessions(of user: UserRecord) async throws {
        let sequence = gate.cache.currentSequence()
        let live = try await store.liveSessions(userID: user.id, at: gate.clock.now())
        gate.cache.update(user: user.id, identity: user.disabled ? nil : Identity(user), live: Set(live.map(\.0.idHash)), readSince: sequence)
    }

    /// The urlencoded body, or nil when it is missing, too large or not a form.
    func readForm(_ request: Request, _ context: GateContext) async throws -> FormFields? {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else { return nil }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            return nil
        }
        return FormFields(parsing: String(buffer: buffer))
    }

    func messagePage(_ visit: Visit, status: HTTPResponse.Status, heading: String, text: String, link: (String, String)? = ("Log in", "/login")) -> Response {
        let html = page.message(heading: heading, text: text, link: link.map { (label: $0.0, url: $0.1) }, nonce: visit.nonce)
        return PortalResponses.page(html, status: status, nonce: visit.nonce, cookie: visit.cookie)
    }

    // MARK: Log out

    func showLogout(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        let redirect = gate.decider.acceptedRedirect(request.uri.query.flatMap { FormFields(parsing: $0) }?["rd"], cookie: visit.cookie)
        guard let identity = try await gate.session(cookieHeader: request.headers[.cookie], cookie: visit.cookie, client: visit.client)?.identity else {
            return messagePage(visit, status: .ok, heading: "Not logged in", text: "There is no session to end in this browser.")
        }
        let cookieValue = visit.csrfCookie ?? csrf.newCookieValue()
        let html = page.logoutConfirm(user: identity.user, csrfToken: csrf.formToken(for: cookieValue), redirect: redirect, nonce: visit.nonce)
        let setCookies = visit.csrfCookie == nil ? [Cookies.csrfCookie(cookieValue, secure: visit.cookie.secure)] : []
        return PortalResponses.page(html, status: .ok, nonce: visit.nonce, cookie: visit.cookie, setCookies: setCookies)
    }

    func logout(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        guard isSameOrigin(request, context, visit: visit) else {
            return messagePage(visit, status: .forbidden, heading: "Refused", text: "This form was sent from another site. Open the logout page directly.", link: ("Log out", "/logout"))
        }
        guard let form = try await readForm(request, context), csrf.check(formToken: form["csrf"], cookieValue: visit.csrfCookie) else {
            return messagePage(visit, status: .forbidden, heading: "The form expired", text: "Open the logout page again and press the button.", link: ("Log out", "/logout"))
        }
        let clearing = Cookies.setCookie("", for: visit.cookie, maxAge: 0)
        if let value = Cookies.value(named: visit.cookie.name, in: request.headers[.cookie]), let token = SessionToken(cookieValue: value) {
            let idHash = token.storageHash
            let user = gate.cache.remove(token: token)?.user
            if try await store.deleteSession(idHash: idHash) || user != nil {
                try await regulator.loggedOut(userName: user ?? "", client: visit.client, now: gate.clock.now())
            }
        }
        if let redirect = gate.decider.acceptedRedirect(form["rd"], cookie: visit.cookie) {
            return PortalResponses.redirect(to: redirect, setCookies: [clearing])
        }
        let html = page.message(heading: "Logged out", text: "Your session has ended.", link: ("Log in again", "/login"), nonce: visit.nonce)
        return PortalResponses.page(html, status: .ok, nonce: visit.nonce, cookie: visit.cookie, setCookies: [clearing])
    }

    // MARK: No access

    /// The page nginx shows for its auth request's 403 (nginx drops the answer's body): who is
    /// logged in and where to log out. The address is the `X-Original-URL` a trusted proxy sent.
    func showDenied(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        let sent = gate.resolver.isTrusted(context.peerAddress) ? request.headers[HeaderNames.originalURL] : nil
        let address = sent.flatMap { RedirectValidator.host(ofSafeURL: $0) == nil ? nil : $0 }
        let identity = try await gate.session(cookieHeader: request.headers[.cookie], cookie: visit.cookie, client: visit.client)?.identity
        let html = page.denied(user: identity?.user, address: address, portal: visit.cookie.portalBase, nonce: visit.nonce)
        return PortalResponses.page(html, status: .forbidden, nonce: visit.nonce, cookie: visit.cookie)
    }

    // MARK: Health

    func health() async -> Response {
        do {
            try await store.ping()
            if authenticator.vault.keys.problem != nil {
                // The reason (key fingerprints, file paths) was logged when it was found.
                return PortalResponses.json("{\"status\":\"unavailable\",\"reason\":\"the one-time-code secrets cannot be decrypted with this server's storage key; the server log has the error\"}\n", status: .serviceUnavailable)
            }
            return PortalResponses.json("{\"status\":\"ok\"}\n", status: .ok)
        } catch {
            // The detail (paths, driver messages) goes to the log only: this endpoint is reachable
            // through the portal by anyone.
            logger.error("health check failed: the store does not answer", metadata: ["error": "\(error)"])
            return PortalResponses.json("{\"status\":\"unavailable\",\"reason\":\"the store does not answer; the server log has the error\"}\n", status: .serviceUnavailable)
        }
    }
}
