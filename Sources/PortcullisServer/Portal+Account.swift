import HTTPTypes
import Hummingbird
import Logging
import PortcullisCore
import PortcullisStore

/// `/account`: a logged-in person's devices, password, recovery codes, app passwords and sessions.
/// Every change needs a second factor from the last ``recentFactorWindow`` seconds.
extension Portal {
    /// How long after a code the account page allows changes.
    static let recentFactorWindow: Int64 = 300

    /// A logged-in visit of the account page.
    struct AccountVisit {
        let visit: Visit
        let token: SessionToken
        let record: SessionRecord
        let user: UserRecord
        /// The session was made (or confirmed) with a second factor within ``recentFactorWindow``.
        let recent: Bool
    }

    /// What a change reports on the page it leads back to (`?done=`): fixed words, never text from the request.
    enum AccountNotice: String {
        case confirmed, confirmedWithRecoveryCode = "confirmed_recovery", deviceAdded = "device_added", deviceRenamed = "device_renamed",
             deviceRemoved = "device_removed", passwordChanged = "password_changed", appPasswordRevoked = "app_password_revoked",
             sessionEnded = "session_ended", otherSessionsEnded = "other_sessions_ended"

        var text: String {
            switch self {
            case .confirmed: "Confirmed. You can make changes for the next 5 minutes."
            case .confirmedWithRecoveryCode: "Confirmed with a recovery code, which is now used up. You can make changes for the next 5 minutes: add a device, and make new recovery codes."
            case .deviceAdded: "The device was added. Its codes work from now on."
            case .deviceRenamed: "The device was renamed."
            case .deviceRemoved: "The device was removed. Its codes no longer work."
            case .passwordChanged: "Your password was changed, and your other sessions have ended."
            case .appPasswordRevoked: "The app password was revoked. Programs using it are refused from now on."
            case .sessionEnded: "The session was ended."
            case .otherSessionsEnded: "Your other sessions were ended."
            }
        }
    }

    func addAccountRoutes(to router: Router<GateContext>) {
        router.get("/account") { request, context in try await showAccount(request, context) }
        router.post("/account/confirm") { request, context in try await accountAction(request, context, requiresRecent: false, confirm) }
        router.get("/account/devices/new") { request, context in try await showNewDevice(request, context) }
        // The form's sealed secret proves it was given to a session with a recent code; scanning may take longer.
        router.post("/account/devices/new") { request, context in try await accountAction(request, context, requiresRecent: false, addDevice) }
        router.post("/account/devices/rename") { request, context in try await accountAction(request, context, renameDevice) }
        router.post("/account/devices/remove") { request, context in try await accountAction(request, context, removeDevice) }
        router.post("/account/password") { request, context in try await accountAction(request, context, changePassword) }
        router.post("/account/recovery-codes") { request, context in try await accountAction(request, context, makeRecoveryCodes) }
        router.post("/account/app-passwords") { request, context in try await accountAction(request, context, createAppPassword) }
        router.post("/account/app-passwords/revoke") { request, context in try await accountAction(request, context, revokeAppPassword) }
        router.post("/account/sessions/end") { request, context in try await accountAction(request, context, endSession) }
        router.post("/account/sessions/end-others") { request, context in try await accountAction(request, context, endOtherSessions) }
    }

    // MARK: The page

    /// The visit's session, read from the store, when it is live (nil: log in first).
    func accountVisit(_ request: Request, visit: Visit) async throws -> AccountVisit? {
        let now = gate.clock.now()
        guard let value = Cookies.value(named: visit.cookie.name, in: request.headers[.cookie]), let token = SessionToken(cookieValue: value),
              try await gate.session(cookieHeader: request.headers[.cookie], cookie: visit.cookie, client: visit.client) != nil,
              let (record, user) = try await store.liveSession(idHash: token.storageHash, at: now), !user.disabled else { return nil }
        let level = AuthLevel(stored: record.authLevel)
        let twoFactors = level == .passwordAndCode || (level == .code && configuration.authMode == .otpOnly)
        let recent = twoFactors && now.subtractingSaturating(record.createdAt) < Self.recentFactorWindow
        return AccountVisit(visit: visit, token: token, record: record, user: user, recent: recent)
    }

    /// To the login form, coming back here after.
    func logInFirst(_ visit: Visit) -> Response {
        PortalResponses.redirect(to: "/login?rd=" + FormFields.encode(visit.cookie.portalBase + "/account"), status: .found)
    }

    func showAccount(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        guard let account = try await accountVisit(request, visit: visit) else { return logInFirst(visit) }
        let notice = request.uri.query.flatMap { FormFields(parsing: $0) }?["done"].flatMap(AccountNotice.init(rawValue:))
        return try await accountPage(account, notice: notice?.text, error: nil, status: .ok)
    }

    func accountPage(_ account: AccountVisit, notice: String? = nil, error: String?, status: HTTPResponse.Status, retryAfter: Int64? = nil) async throws -> Response {
        let now = gate.clock.now()
        let userID = account.user.id
        let sessions = try await store.liveSessions(userID: userID, at: now).map(\.0).sorted { $0.lastActivity > $1.lastActivity }
        let (csrfToken, setCookies) = csrfFormToken(account.visit)
        let view = PortalPage.AccountView(
            user: account.user, recent: account.recent, hasPasswords: configuration.authMode == .passwordAndOTP,
            devices: try await store.devices(ofUserID: userID), recoveryCodesLeft: try await store.recoveryCodeCount(userID: userID),
            passwordMinLength: configuration.passwordMinLength,
            appPasswords: try await store.appPasswords(ofUserID: userID), sessions: sessions, currentSession: account.record.idHash,
            csrfToken: csrfToken, notice: notice, error: error, now: now)
        let visit = account.visit
        var response = PortalResponses.page(page.account(view, nonce: visit.nonce), status: status, nonce: visit.nonce, cookie: visit.cookie, setCookies: setCookies)
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// Runs a change: the form must come from this portal with its CSRF token, from a live
    /// session, with a recent second factor unless `requiresRecent` is false.
    func accountAction(_ request: Request, _ context: GateContext, requiresRecent: Bool = true,
                       _ action: (AccountVisit, FormFields) async throws -> Response) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        guard isSameOrigin(request, context, visit: visit) else {
            return messagePage(visit, status: .forbidden, heading: "Refused", text: "This form was sent from another site. Open your account page directly.",
                               link: ("Your account", "/account"))
        }
        guard let form = try await readForm(request, context) else {
            return messagePage(visit, status: .badRequest, heading: "Unreadable form", text: "The form could not be read. Open your account page and try again.",
                               link: ("Your account", "/account"))
        }
        guard let account = try await accountVisit(request, visit: visit) else { return logInFirst(visit) }
        guard csrf.check(formToken: form["csrf"], cookieValue: visit.csrfCookie) else {
            return try await accountPage(account, error: "The form expired. Please try again.", status: .forbidden)
        }
        guard !requiresRecent || account.recent else {
            return try await accountPage(account, error: "Changes need a code from the last 5 minutes: enter the code your authenticator app shows now, then try again.",
                                         status: .forbidden)
        }
        return try await action(account, form)
    }

    func done(_ notice: AccountNotice, setCookies: [String] = []) -> Response {
        PortalResponses.redirect(to: "/account?done=" + notice.rawValue, setCookies: setCookies)
    }

    func audit(_ event: AuditEntry.Event, _ account: AccountVisit, _ detail: String) async throws {
        try await store.appendAudit(AuditEntry(time: gate.clock.now(), event: event, userName: account.user.name, clientIP: account.visit.client.description,
                                               reason: detail + " (account page)"))
    }

    /// The audit entry of something already stored whose page must still be shown (it holds a
    /// secret shown only once): a failure is logged, not thrown.
    func auditAfterCommit(_ event: AuditEntry.Event, _ account: AccountVisit, _ detail: String) async {
        do {
            try await audit(event, account, detail)
        } catch {
            logger.error("could not write the audit entry of an account change", metadata: ["user": "\(account.user.name)", "event": "\(event.rawValue)", "error": "\(error)"])
        }
    }

    /// Replaces the visit's session by one made now, of `level` (a fresh second factor, a new
    /// password): the old id ends in the store and its change log, so every server drops it.
    /// - Returns: the new cookie, or nil when the session ended meanwhile.
    func renewSession(_ account: AccountVisit, level: AuthLevel, now: Int64) async throws -> String? {
        _ = gate.cache.remove(token: account.token)
        guard try await store.deleteSession(idHash: account.token.storageHash) else { return nil }
        return try await startSession(account, level: level, now: now)
    }

    /// A new session for this browser, keeping the old one's remember-me and end; `startedAt` is
    /// when its factors were given (nil: now).
    func startSession(_ account: AccountVisit, level: AuthLevel, now: Int64, startedAt: Int64? = nil) async throws -> String {
        let record = account.record
        let token = try await createSession(user: account.user, level: level, rememberMe: record.rememberMe, expiresAt: record.expiresAt, visit: account.visit,
                                            now: now, startedAt: startedAt)
        return Cookies.setCookie(token.cookieValue, for: account.visit.cookie, maxAge: record.rememberMe ? max(1, record.expiresAt - now) : nil)
    }

    // MARK: A fresh second factor

    /// `POST /account/confirm`: a code (or a recovery code), counted by regulation like a login;
    /// the session is renewed, so the code's time is the session's start.
    func confirm(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        let now = gate.clock.now()
        let user = account.user
        let held = AuthLevel(stored: account.record.authLevel)
        // A session of the code alone (made under auth.mode otp_only) never proved the password: it cannot become one that did.
        if held == .code && configuration.authMode == .passwordAndOTP { return logInFirst(account.visit) }
        let subject = regulator.subject(typedName: user.name, user: user)
        let ticket: AttemptTicket
        switch try await regulator.begin(subject, client: account.visit.client, now: now) {
        case .admitted(let admitted): ticket = admitted
        case .banned(let ban):
            return try await accountPage(account, error: "Too many failed attempts. Try again in \(ban.retryAfter(now: now)) seconds.", status: .tooManyRequests,
                                         retryAfter: ban.retryAfter(now: now))
        case .busy(let retryAfter):
            return try await accountPage(account, error: "Many sign-ins are being checked right now. Wait \(retryAfter) seconds and try again.", status: .serviceUnavailable,
                                         retryAfter: retryAfter)
        }
        let outcome = try await authenticator.stepUp(user: user, code: form["code"] ?? "", now: now)
        switch outcome {
        case .unavailable:
            await regulator.abandoned(ticket, now: now)
            return try await accountPage(account, error: Self.secretsUnavailable, status: .serviceUnavailable, retryAfter: Self.secretsRetryAfter)
        case .failure(let reason, let hint):
            let wrongCode = reason == .badOTP || reason == .replayedOTP
            if let ban = try await regulator.failed(ticket, subject: subject, reason: reason.rawValue, wrongCodeOf: wrongCode ? user.id : nil, client: account.visit.client, now: now) {
                return try await accountPage(account, error: "Too many failed attempts. Try again in \(ban.retryAfter(now: now)) seconds.", status: .tooManyRequests,
                                             retryAfter: ban.retryAfter(now: now))
            }
            return try await accountPage(account, error: Self.codeFailureMessage(reason, hint: hint), status: hint == .locked ? .forbidden : .unauthorized)
        case .success, .recoveryCodeUsed:
            let recovered = if case .recoveryCodeUsed = outcome { true } else { false }
            // The code adds itself to what the session proved: the password alone becomes both; a code-only session stays one.
            let level: AuthLevel = held == .password ? .passwordAndCode : held
            let renewed: String?
            do {
                renewed = try await renewSession(account, level: level, now: now)
            } catch {
                await regulator.abandoned(ticket, now: now)
                throw error
            }
            guard let cookie = renewed else {
                await regulator.abandoned(ticket, now: now)
                return logInFirst(account.visit)
            }
            try await regulator.succeeded(ticket, user: user, client: account.visit.client, now: now, method: recovered ? "recovery_code" : "account_confirm")
            return done(recovered ? .confirmedWithRecoveryCode : .confirmed, setCookies: [cookie])
        }
    }

    /// What to say after a wrong code from someone whose session proved who they are.
    static func codeFailureMessage(_ reason: Authenticator.Failure, hint: Authenticator.Hint?) -> String {
        switch hint {
        case .locked?: "This account is locked after too many wrong codes. Ask your administrator to unlock it."
        case .replayed?: "That code was already used. Wait for the next code and enter it."
        case .clockOff(let seconds)?: "That code is not valid now: your device's clock looks \(ClockOffsetText.describe(seconds)). Set its time automatically, then enter the current code."
        case nil: reason == .disabled ? "This account is disabled." : "Incorrect code."
        }
    }

    // MARK: Devices

    func renameDevice(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        let label = form["label"] ?? ""
        let newLabel = (form["new_label"] ?? "").trimmingASCIIWhitespace()
        do {
            try await store.renameDevice(userID: account.user.id, label: label, to: newLabel)
        } catch let error as StoreError where [.notFound, .duplicate, .invalidInput].contains(error.code) {
            return try await accountPage(account, error: error.code == .invalidInput ? "Give the device a name of 1 to 64 characters." : error.message, status: .badRequest)
        }
        try await audit(.deviceRenamed, account, "'\(label)' to '\(newLabel)'")
        return done(.deviceRenamed)
    }

    func removeDevice(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        let label = form["label"] ?? ""
        do {
            try await store.removeDeviceUnlessLast(userID: account.user.id, label: label)
        } catch let error as StoreError where error.code == .notFound || error.code == .conflict {
            return try await accountPage(account, error: error.message, status: error.code == .conflict ? .conflict : .badRequest)
        }
        try await audit(.deviceRemoved, account, "device '\(label)'")
        return done(.deviceRemoved)
    }

    /// The associated data of the add-a-device form's sealed secret: bound to the user (a renewed
    /// session keeps its form).
    static func pendingDeviceContext(_ account: AccountVisit) -> String {
        "portcullis pending device of user \(account.user.id)"
    }

    /// How long the add-a-device form can be sent after the page was shown to a session with a recent code.
    static let pendingDeviceLifetime: Int64 = 900

    /// `GET /account/devices/new`: a new secret, shown as a QR code and as text; the form carries
    /// it sealed under the storage key and bound to this session, with the time it was made.
    func showNewDevice(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        guard let account = try await accountVisit(request, visit: visit) else { return logInFirst(visit) }
        guard account.recent else {
            return try await accountPage(account, error: "Adding a device needs a code from the last 5 minutes: enter the code your authenticator app shows now (or a recovery code).",
                                         status: .forbidden)
        }
        let (secret, pending) = pendingSecret(context: Self.pendingDeviceContext(account))
        return try newDevicePage(account, secret: secret, pending: pending, label: Self.defaultDeviceLabel, error: nil, status: .ok)
    }

    func newDevicePage(_ account: AccountVisit, secret: [UInt8], pending: String, label: String, error: String?, status: HTTPResponse.Status) throws -> Response {
        let parameters = newDeviceParameters
        let uri = OTPAuthURI(issuer: configuration.totpIssuer, account: account.user.name, secret: secret, parameters: parameters).string
        let (csrfToken, setCookies) = csrfFormToken(account.visit)
        let html = page.newDevice(user: account.user.name, qrSVG: try QRCode(encoding: uri).svgElement(moduleSize: 6, label: "QR code to scan with your authenticator app"),
                                  secret: Base32.encode(secret), digits: parameters.digits, label: label, pending: pending, csrfToken: csrfToken,
                                  error: error, nonce: account.visit.nonce)
        return PortalResponses.page(html, status: status, nonce: account.visit.nonce, cookie: account.visit.cookie, setCookies: setCookies)
    }

    /// `POST /account/devices/new`: the code from the new app confirms it; it is stored with that code used up.
    func addDevice(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        let now = gate.clock.now()
        let pending = form["pending"] ?? ""
        guard let secret = openPendingSecret(pending, context: Self.pendingDeviceContext(account), lifetime: Self.pendingDeviceLifetime) else {
            return try await accountPage(account, error: "The page of the new device was open too long. Press “Add a device” again.", status: .badRequest)
        }
        let label = (form["label"] ?? "").trimmingASCIIWhitespace()
        func again(_ error: String) throws -> Response {
            try newDevicePage(account, secret: secret, pending: pending, label: label, error: error, status: .badRequest)
        }
        guard (try? OTPDeviceRecord.validateLabel(label)) != nil else { return try again("Give the device a name of 1 to \(OTPDeviceRecord.maximumLabelLength) characters.") }
        let state: OTPDeviceState
        switch confirmNewDevice(code: form["code"] ?? "", secret: secret, user: account.user, now: now) {
        case .success(let confirmed): state = confirmed
        case .failure(let problem): return try again(problem.message)
        }
        // The same form sent twice (a second tab, a reload) must not make two devices of one
        // secret: each would accept the same code once.
        for existing in try await store.devices(ofUserID: account.user.id) {
            if let (stored, _) = try? await authenticator.vault.openDevice(existing), ConstantTime.equals(stored, secret) {
                return try await accountPage(account, notice: "This device was added already, as “\(existing.label)”.", error: nil, status: .ok)
            }
        }
        let device = authenticator.vault.sealedDevice(userID: account.user.id, label: label, parameters: newDeviceParameters, secret: secret, state: state, at: now)
        do {
            try await store.addDevice(device)
        } catch let error as StoreError where error.code == .duplicate {
            return try again("You have a device named “\(label)” already. Choose another name.")
        }
        try await audit(.deviceAdded, account, "device '\(label)' (TOTP)")
        return done(.deviceAdded)
    }

    // MARK: Password and recovery codes

    /// `POST /account/password`: the current password (counted by regulation) and the new one
    /// twice. Every session of the user ends; this browser gets a new one.
    func changePassword(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        guard configuration.authMode == .passwordAndOTP else { return try await accountPage(account, error: "This portal logs in without passwords.", status: .badRequest) }
        let now = gate.clock.now()
        let newPassword = form["new_password"] ?? ""
        let minimum = configuration.passwordMinLength
        guard newPassword.count >= minimum else { return try await accountPage(account, error: "The new password needs at least \(minimum) characters.", status: .badRequest) }
        guard newPassword.utf8.count <= 1024 else { return try await accountPage(account, error: "The new password is too long (at most 1024 bytes).", status: .badRequest) }
        guard ConstantTime.equals(Array(newPassword.utf8), Array((form["new_password2"] ?? "").utf8)) else {
            return try await accountPage(account, error: "The two new passwords differ. Type the same new password twice.", status: .badRequest)
        }
        if let retryAfter = authenticator.hashQueueFull(priority: false) {
            return try await accountPage(account, error: "Many sign-ins are being checked right now. Wait \(retryAfter) seconds and try again.",
                                         status: .serviceUnavailable, retryAfter: retryAfter)
        }
        let ticket: AttemptTicket
        switch try await checkCurrentPassword(form["password"] ?? "", of: account.user, visit: account.visit, now: now) {
        case .admitted(let admitted): ticket = admitted
        case .refused(let message, let status, let retryAfter):
            return try await accountPage(account, error: message == "Incorrect password." ? "The current password is not right." : message, status: status, retryAfter: retryAfter)
        }
        let user = account.user
        let changed: Bool
        do {
            let newHash = try await authenticator.vault.hashNewPassword(newPassword)
            changed = try await store.changeOwnPassword(userID: user.id, current: user.passwordHash ?? "", to: newHash)
        } catch let error as StoreError where error.code == .busy {
            await regulator.abandoned(ticket, now: now)
            let retryAfter = authenticator.vault.hashPool?.retryAfter ?? 1
            return try await accountPage(account, error: "Many sign-ins are being checked right now. Wait \(retryAfter) seconds and try again.",
                                         status: .serviceUnavailable, retryAfter: retryAfter)
        } catch {
            await regulator.abandoned(ticket, now: now)
            throw error
        }
        guard changed else {
            await regulator.abandoned(ticket, now: now)
            return logInFirst(account.visit)
        }
        // Every session ended with the change (this one too): this browser gets a new one, which
        // keeps the time of its code, so a password change does not extend the 5 minutes.
        try await regulator.succeeded(ticket, user: user, client: account.visit.client, now: now, method: "password_change")
        try await syncSessions(of: user)
        await auditAfterCommit(.passwordChanged, account, "password changed, other sessions ended")
        let cookie = try await startSession(account, level: AuthLevel(stored: account.record.authLevel), now: now, startedAt: account.record.createdAt)
        return done(.passwordChanged, setCookies: [cookie])
    }

    func makeRecoveryCodes(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        let codes = try await authenticator.vault.makeRecoveryCodes(for: account.user, at: gate.clock.now())
        await auditAfterCommit(.recoveryCodesMade, account, "10 new codes")
        let visit = account.visit
        let html = page.recoveryCodes(codes, heading: "New recovery codes", intro: "Your old recovery codes no longer work.",
                                      link: (label: "Back to your account", url: "/account"), nonce: visit.nonce)
        return PortalResponses.page(html, status: .ok, nonce: visit.nonce, cookie: visit.cookie)
    }

    // MARK: App passwords

    static let appPasswordLifetimes: [String: Int64?] = ["30d": 30 * 86_400, "90d": 90 * 86_400, "365d": 365 * 86_400, "never": nil]

    func createAppPassword(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        let now = gate.clock.now()
        let label = (form["label"] ?? "").trimmingASCIIWhitespace()
        guard (try? UserFieldRules.validateName(label)) != nil else {
            return try await accountPage(account, error: "Name the app password with 1 to 64 letters, digits, '.', '_', '-' or '@'.", status: .badRequest)
        }
        guard let lifetime = Self.appPasswordLifetimes[form["expires"] ?? ""] else {
            return try await accountPage(account, error: "Choose when the app password expires.", status: .badRequest)
        }
        var random = SystemRandomNumberGenerator()
        let password = AppPassword.generate(using: &random)
        let expiresAt = lifetime.map { now + $0 }
        do {
            _ = try await store.addAppPassword(AppPasswordRecord(userID: account.user.id, label: label, hash: password.storageHash, createdAt: now, expiresAt: expiresAt))
        } catch let error as StoreError where error.code == .duplicate {
            return try await accountPage(account, error: "You have an app password named “\(label)” already. Choose another name, or revoke the old one first.", status: .conflict)
        }
        await auditAfterCommit(.appPasswordAdded, account, "'\(label)', expires \(expiresAt.map(PortalPage.time) ?? "never")")
        let visit = account.visit
        let html = page.appPasswordMade(label: label, password: password.text, expires: expiresAt.map(PortalPage.time) ?? "never", nonce: visit.nonce)
        return PortalResponses.page(html, status: .ok, nonce: visit.nonce, cookie: visit.cookie)
    }

    func revokeAppPassword(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        let label = form["label"] ?? ""
        do {
            try await store.removeAppPassword(userID: account.user.id, label: label)
        } catch let error as StoreError where error.code == .notFound {
            return try await accountPage(account, error: "There is no app password named “\(label)”.", status: .badRequest)
        }
        try await audit(.appPasswordRemoved, account, "'\(label)'")
        return done(.appPasswordRevoked)
    }

    // MARK: Sessions

    func endSession(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        let now = gate.clock.now()
        let wanted = form["session"] ?? ""
        let sessions = try await store.liveSessions(userID: account.user.id, at: now).map(\.0)
        guard wanted != account.record.shortID, let session = sessions.first(where: { $0.shortID == wanted }) else {
            return try await accountPage(account, error: wanted == account.record.shortID ? "To end this browser's session, log out." : "That session has ended already.",
                                         status: .badRequest)
        }
        gate.cache.remove(idHash: session.idHash)
        if try await store.deleteSession(idHash: session.idHash) {
            try await audit(.sessionRevoked, account, "session \(session.shortID) from \(session.clientIP)")
        }
        return done(.sessionEnded)
    }

    func endOtherSessions(_ account: AccountVisit, _ form: FormFields) async throws -> Response {
        let sessions = try await store.liveSessions(userID: account.user.id, at: gate.clock.now()).map(\.0)
        var ended = 0
        for session in sessions where session.idHash != account.record.idHash {
            gate.cache.remove(idHash: session.idHash)
            if try await store.deleteSession(idHash: session.idHash) { ended += 1 }
        }
        try await audit(.sessionRevoked, account, "\(ended) other session\(ended == 1 ? "" : "s")")
        return done(.otherSessionsEnded)
    }
}
