import HTTPTypes
import Hummingbird
import Logging
import PortcullisCore
import PortcullisStore

/// `/enroll`: the page of an invitation link (`portcullis user invite`, `user reset-otp`).
extension Portal {
    /// The label a new device gets when the person leaves the field as it is.
    static let defaultDeviceLabel = "Phone"
    /// How long a page's new secret (in its form) can still be confirmed.
    static let pendingSecretLifetime: Int64 = 3600

    /// The parameters of a device set up on a page: the `totp.*` settings.
    var newDeviceParameters: OTPParameters {
        OTPParameters(type: .totp, algorithm: configuration.totpAlgorithm, digits: configuration.totpDigits, period: configuration.totpPeriod)
    }

    // MARK: A new device's secret, carried by the form

    /// A new secret with its form field: the secret and the time, sealed under the storage key with
    /// `context` (which binds it to one link or one session), so nothing is stored before the code
    /// confirms it and no other page can use it.
    func pendingSecret(context: String) -> (secret: [UInt8], field: String) {
        var random = SystemRandomNumberGenerator()
        let secret = SecretGenerator.makeSecret(using: &random)
        let plaintext = secret + withUnsafeBytes(of: gate.clock.now().bigEndian, Array.init)
        return (secret, Base64.encode(authenticator.vault.box.seal(plaintext, context: context, using: &random)))
    }

    /// The secret in a form field made by ``pendingSecret(context:)``, unless it is mangled, made
    /// for another context or under another storage key, or older than ``pendingSecretLifetime``.
    func openPendingSecret(_ field: String, context: String, lifetime: Int64 = pendingSecretLifetime) -> [UInt8]? {
        guard field.utf8.count <= 512, let sealed = Base64.decode(field),
              let opened = try? authenticator.vault.box.open(sealed, context: context), opened.count > 8 else { return nil }
        let made = opened.suffix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        guard gate.clock.now().subtractingSaturating(made) < lifetime else { return nil }
        return Array(opened.dropLast(8))
    }

    static func enrollmentContext(_ invitation: InvitationRecord) -> String {
        "portcullis enrollment secret " + Hex.encode(invitation.tokenHash)
    }

    // MARK: The page

    /// `GET /enroll?token=…`: the form with a new secret, or one page for every link that cannot be used.
    func showEnrollment(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        let token = request.uri.query.flatMap { FormFields(parsing: $0) }?["token"] ?? ""
        guard let (invitation, user) = try await authenticator.vault.openInvitation(token: token, at: gate.clock.now()) else { return unusableLinkPage(visit) }
        let (secret, pending) = pendingSecret(context: Self.enrollmentContext(invitation))
        return try enrollmentPage(invitation, user: user, token: token, secret: secret, pending: pending, label: Self.defaultDeviceLabel, visit: visit,
                                  error: nil, status: .ok)
    }

    /// Expired, used, voided, unknown or mangled: the same page and status for each.
    func unusableLinkPage(_ visit: Visit) -> Response {
        messagePage(visit, status: .notFound, heading: "This link cannot be used",
                    text: "It has expired, was used already, was replaced by a newer one, or is incomplete. Ask your administrator for a new link. "
                        + "If you have just finished setting up your login with it, you are done: log in.", link: ("Log in", "/login"))
    }

    func enrollmentPage(_ invitation: InvitationRecord, user: UserRecord, token: String, secret: [UInt8], pending: String, label: String, visit: Visit,
                        error: String?, status: HTTPResponse.Status, retryAfter: Int64? = nil) throws -> Response {
        let parameters = newDeviceParameters
        let uri = OTPAuthURI(issuer: configuration.totpIssuer, account: user.name, secret: secret, parameters: parameters).string
        let password: PortalPage.EnrollmentForm.PasswordField = configuration.authMode == .otpOnly ? .none
            : invitation.kind == .enroll ? .choose(minimumLength: configuration.passwordMinLength) : .current
        let (csrfToken, setCookies) = csrfFormToken(visit)
        let form = PortalPage.EnrollmentForm(
            user: user.name, password: password,
            qrSVG: try QRCode(encoding: uri).svgElement(moduleSize: 6, label: "QR code to scan with your authenticator app"),
            secret: Base32.encode(secret), digits: parameters.digits, deviceLabel: label, token: token, pending: pending, csrfToken: csrfToken, error: error)
        var response = PortalResponses.page(page.enrollment(form, nonce: visit.nonce), status: status, nonce: visit.nonce, cookie: visit.cookie, setCookies: setCookies)
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// The token a form carries, and the CSRF cookie to set when the browser has none yet.
    func csrfFormToken(_ visit: Visit) -> (token: String, setCookies: [String]) {
        let cookieValue = visit.csrfCookie ?? csrf.newCookieValue()
        return (csrf.formToken(for: cookieValue), visit.csrfCookie == nil ? [Cookies.csrfCookie(cookieValue, secure: visit.cookie.secure)] : [])
    }

    // MARK: Completing it

    /// `POST /enroll`: checks what was typed (the cheap checks first, the password of a reset last,
    /// counted by regulation), then completes the invitation in one transaction and shows the
    /// recovery codes, logged in.
    func enroll(_ request: Request, _ context: GateContext) async throws -> Response {
        let configuration = self.configuration
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        guard isSameOrigin(request, context, visit: visit) else {
            return messagePage(visit, status: .forbidden, heading: "Refused", text: "This form was sent from another site. Open the link you were given directly.", link: nil)
        }
        guard let form = try await readForm(request, context) else {
            return messagePage(visit, status: .badRequest, heading: "Unreadable form", text: "The form could not be read. Open the link you were given again.", link: nil)
        }
        let now = gate.clock.now()
        let token = form["token"] ?? ""
        guard let (invitation, user) = try await authenticator.vault.openInvitation(token: token, at: now) else { return unusableLinkPage(visit) }
        let label = (form["label"] ?? "").trimmingASCIIWhitespace()
        guard let secret = openPendingSecret(form["pending"] ?? "", context: Self.enrollmentContext(invitation)) else {
            let (secret, pending) = pendingSecret(context: Self.enrollmentContext(invitation))
            return try enrollmentPage(invitation, user: user, token: token, secret: secret, pending: pending, label: label.isEmpty ? Self.defaultDeviceLabel : label,
                                      visit: visit, error: "This page was open too long. Scan the new QR code below (remove the old entry from your app), then enter a code.",
                                      status: .badRequest)
        }
        let pending = form["pending"] ?? ""
        func again(_ error: String, _ status: HTTPResponse.Status, retryAfter: Int64? = nil) throws -> Response {
            try enrollmentPage(invitation, user: user, token: token, secret: secret, pending: pending, label: label.isEmpty ? Self.defaultDeviceLabel : label,
                               visit: visit, error: error, status: status, retryAfter: retryAfter)
        }
        guard csrf.check(formToken: form["csrf"], cookieValue: visit.csrfCookie) else { return try again("The form expired. Please fill it in again.", .forbidden) }
        guard (try? OTPDeviceRecord.validateLabel(label)) != nil else {
            return try again("Give the device a name of 1 to \(OTPDeviceRecord.maximumLabelLength) characters.", .badRequest)
        }
        let password = form["password"] ?? ""
        var newPassword: String?
        if configuration.authMode == .passwordAndOTP, invitation.kind == .enroll {
            guard password.count >= configuration.passwordMinLength else {
                return try again("The password needs at least \(configuration.passwordMinLength) characters.", .badRequest)
            }
            guard password.utf8.count <= 1024 else { return try again("The password is too long (at most 1024 bytes).", .badRequest) }
            guard ConstantTime.equals(Array(password.utf8), Array((form["password2"] ?? "").utf8)) else {
                return try again("The two passwords differ. Type the same password twice.", .badRequest)
            }
            newPassword = password
        }
        let parameters = newDeviceParameters
        let state: OTPDeviceState
        switch confirmNewDevice(code: form["code"] ?? "", secret: secret, user: user, now: now) {
        case .success(let confirmed): state = confirmed
        case .failure(let problem): return try again(problem.message, .badRequest)
        }
        if let retryAfter = authenticator.hashQueueFull(priority: false) {
            return try again("Many sign-ins are being checked right now. Wait \(retryAfter) seconds and press Finish again.", .serviceUnavailable, retryAfter: retryAfter)
        }
        var ticket: AttemptTicket?
        if configuration.authMode == .passwordAndOTP, invitation.kind == .resetOTP {
            switch try await checkCurrentPassword(password, of: user, visit: visit, now: now) {
            case .admitted(let admitted): ticket = admitted
            case .refused(let message, let status, let retryAfter): return try again(message, status, retryAfter: retryAfter)
            }
        }
        let codes: [String]?
        do {
            codes = try await authenticator.vault.completeInvitation(invitation, password: newPassword, secret: secret, deviceLabel: label, parameters: parameters,
                                                                     state: state, at: now)
        } catch let error as StoreError where error.code == .duplicate || error.code == .busy {
            if let ticket { await regulator.abandoned(ticket, now: now) }
            if error.code == .busy {
                let retryAfter = authenticator.vault.hashPool?.retryAfter ?? 1
                return try again("Many sign-ins are being checked right now. Wait \(retryAfter) seconds and press Finish again.", .serviceUnavailable, retryAfter: retryAfter)
            }
            return try again("You have a device named “\(label)” already. Choose another name.", .conflict)
        } catch {
            if let ticket { await regulator.abandoned(ticket, now: now) }
            throw error
        }
        guard let codes else {
            if let ticket { await regulator.abandoned(ticket, now: now) }
            return unusableLinkPage(visit)
        }
        // Everything is stored now: whatever fails from here, the codes are shown.
        var setCookies: [String] = []
        var intro = invitation.kind == .enroll ? "Your login is set up, and you are logged in."
            : "Your new authenticator app is set up; the old one no longer works. You are logged in."
        do {
            if let ticket { try await regulator.succeeded(ticket, user: user, client: visit.client, now: now, method: "reset_otp") }
            try await store.appendAudit(AuditEntry(time: now, event: .enrolled, userName: user.name, clientIP: visit.client.description,
                                                   reason: "\(invitation.kind.rawValue), device '\(label)'"))
            _ = try await store.unlock(userID: user.id)
            try await syncSessions(of: user)
            // The browser may hold another session (someone else's, on a shared computer): it ends, as at a logout.
            if let value = Cookies.value(named: visit.cookie.name, in: request.headers[.cookie]), let held = SessionToken(cookieValue: value) {
                _ = gate.cache.remove(token: held)
                _ = try await store.deleteSession(idHash: held.storageHash)
            }
            let level: AuthLevel = configuration.authMode == .otpOnly ? .code : .passwordAndCode
            let session = try await createSession(user: user, level: level, rememberMe: false, expiresAt: now + configuration.sessionExpiration, visit: visit, now: now)
            setCookies = [Cookies.setCookie(session.cookieValue, for: visit.cookie, maxAge: nil)]
            logger.notice("invitation completed", metadata: ["user": "\(user.name)", "kind": "\(invitation.kind.rawValue)", "client": "\(visit.client)"])
        } catch {
            logger.error("invitation completed, but the login after it failed", metadata: ["user": "\(user.name)", "error": "\(error)"])
            intro = "Your login is set up, but you could not be logged in just now: log in with it after saving these codes."
        }
        let html = page.recoveryCodes(codes, heading: "Your recovery codes", intro: intro,
                                      link: (label: "Continue", url: gate.decider.redirectTarget(nil, cookie: visit.cookie)), nonce: visit.nonce)
        return PortalResponses.page(html, status: .ok, nonce: visit.nonce, cookie: visit.cookie, setCookies: setCookies)
    }

    /// Why a code did not confirm a new device.
    struct NewDeviceProblem: Error {
        let message: String
    }

    /// Checks the first code of a new device: its state with that code used up, or what to tell the person.
    func confirmNewDevice(code: String, secret: [UInt8], user: UserRecord, now: Int64) -> Result<OTPDeviceState, NewDeviceProblem> {
        let parameters = newDeviceParameters
        let verifier = OTPVerifier(timeSkew: configuration.totpSkew)
        if case .accepted(let acceptance) = verifier.verify(code: code, secret: secret, parameters: parameters, state: OTPDeviceState(), at: now) {
            return .success(acceptance.newState)
        }
        if let offset = verifier.clockOffset(of: code, secret: secret, parameters: parameters, at: now) {
            return .failure(NewDeviceProblem(message: "That code is not valid now: your device's clock looks \(ClockOffsetText.describe(offset)). Set its time automatically, then enter the current code."))
        }
        return .failure(NewDeviceProblem(message: "That code does not match. Check that the app shows \(user.name) under \(configuration.totpIssuer), and enter the code it shows now."))
    }

    enum PasswordCheckOutcome {
        case admitted(AttemptTicket)
        case refused(message: String, status: HTTPResponse.Status, retryAfter: Int64?)
    }

    /// Checks the current password of `user` as a login does: counted by regulation before the
    /// hash, a failure may ban. On success the attempt stays open for the caller to settle.
    func checkCurrentPassword(_ password: String, of user: UserRecord, visit: Visit, now: Int64) async throws -> PasswordCheckOutcome {
        let subject = regulator.subject(typedName: user.name, user: user)
        let ticket: AttemptTicket
        switch try await regulator.begin(subject, client: visit.client, now: now) {
        case .admitted(let admitted): ticket = admitted
        case .banned(let ban):
            return .refused(message: "Too many failed attempts. Try again in \(ban.retryAfter(now: now)) seconds.", status: .tooManyRequests, retryAfter: ban.retryAfter(now: now))
        case .busy(let retryAfter):
            return .refused(message: "Many sign-ins are being checked right now. Wait \(retryAfter) seconds and try again.", status: .serviceUnavailable, retryAfter: retryAfter)
        }
        let check: PasswordCheck
        do {
            check = try await authenticator.vault.checkPasswordPadded(password, hash: user.passwordHash ?? authenticator.dummyHash, dummyHash: authenticator.dummyHash)
        } catch let error as StoreError where error.code == .busy {
            await regulator.abandoned(ticket, now: now)
            let retryAfter = authenticator.vault.hashPool?.retryAfter ?? 1
            return .refused(message: "Many sign-ins are being checked right now. Wait \(retryAfter) seconds and try again.", status: .serviceUnavailable, retryAfter: retryAfter)
        }
        guard user.passwordHash != nil, check.isMatch else {
            if let ban = try await regulator.failed(ticket, subject: subject, reason: Authenticator.Failure.badPassword.rawValue, wrongCodeOf: nil, client: visit.client, now: now) {
                return .refused(message: "Too many failed attempts. Try again in \(ban.retryAfter(now: now)) seconds.", status: .tooManyRequests, retryAfter: ban.retryAfter(now: now))
            }
            return .refused(message: "Incorrect password.", status: .unauthorized, retryAfter: nil)
        }
        return .admitted(ticket)
    }
}
