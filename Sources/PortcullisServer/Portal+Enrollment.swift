import HTTPTypes
import Hummingbird
import Logging
import PortcullisCore
import PortcullisStore

/// `/enroll`: the page of an invitation link (`portcullis user invite`, `user reset-otp`).
extension Portal {
    /// The label a new device gets when the person leaves the field as it is.
    static let defaultDeviceLabel = "Phone"

    /// The parameters of a device set up on a page: the `totp.*` settings.
    var newDeviceParameters: OTPParameters {
        OTPParameters(type: .totp, algorithm: configuration.totpAlgorithm, digits: configuration.totpDigits, period: configuration.totpPeriod)
    }

    /// `GET /enroll?token=…`: the form, or one page for every link that cannot be used.
    func showEnrollment(_ request: Request, _ context: GateContext) async throws -> Response {
        guard case .success(let visit) = self.visit(request, context) else { return wrongHostPage(request, context) }
        let token = request.uri.query.flatMap { FormFields(parsing: $0) }?["token"] ?? ""
        let invitation: OpenedInvitation?
        do {
            invitation = try await authenticator.vault.openInvitation(token: token, at: gate.clock.now())
        } catch let error as StoreError where error.code == .storageKey {
            return messagePage(visit, status: .serviceUnavailable, heading: "Unavailable for a moment", text: Self.secretsUnavailable, link: nil)
        }
        guard let invitation else { return unusableLinkPage(visit) }
        return try enrollmentPage(invitation, token: token, label: Self.defaultDeviceLabel, visit: visit, error: nil, status: .ok)
    }

    /// Expired, used, voided, unknown or mangled: the same page and status for each.
    func unusableLinkPage(_ visit: Visit) -> Response {
        messagePage(visit, status: .notFound, heading: "This link cannot be used",
                    text: "It has expired, was used already, was replaced by a newer one, or is incomplete. Ask your administrator for a new link.", link: nil)
    }

    func enrollmentPage(_ invitation: OpenedInvitation, token: String, label: String, visit: Visit, error: String?, status: HTTPResponse.Status) throws -> Response {
        let parameters = newDeviceParameters
        let uri = OTPAuthURI(issuer: configuration.totpIssuer, account: invitation.user.name, secret: invitation.secret, parameters: parameters).string
        let password: PortalPage.EnrollmentForm.PasswordField = configuration.authMode == .otpOnly ? .none
            : invitation.record.kind == .enroll ? .choose(minimumLength: configuration.passwordMinLength) : .current
        let (csrfToken, setCookies) = csrfFormToken(visit)
        let form = PortalPage.EnrollmentForm(
            user: invitation.user.name, password: password,
            qrSVG: try QRCode(encoding: uri).svgElement(moduleSize: 6, label: "QR code to scan with your authenticator app"),
            secret: Base32.encode(invitation.secret), digits: parameters.digits, deviceLabel: label, token: token, csrfToken: csrfToken, error: error)
        return PortalResponses.page(page.enrollment(form, nonce: visit.nonce), status: status, nonce: visit.nonce, cookie: visit.cookie, setCookies: setCookies)
    }

    /// The token a form carries, and the CSRF cookie to set when the browser has none yet.
    func csrfFormToken(_ visit: Visit) -> (token: String, setCookies: [String]) {
        let cookieValue = visit.csrfCookie ?? csrf.newCookieValue()
        return (csrf.formToken(for: cookieValue), visit.csrfCookie == nil ? [Cookies.csrfCookie(cookieValue, secure: visit.cookie.secure)] : [])
    }

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
        let invitation: OpenedInvitation
        do {
            guard let opened = try await authenticator.vault.openInvitation(token: token, at: now) else { return unusableLinkPage(visit) }
            invitation = opened
        } catch let error as StoreError where error.code == .storageKey {
            return messagePage(visit, status: .serviceUnavailable, heading: "Unavailable for a moment", text: Self.secretsUnavailable, link: nil)
        }
        let label = (form["label"] ?? "").trimmingASCIIWhitespace()
        func again(_ error: String, _ status: HTTPResponse.Status) throws -> Response {
            try enrollmentPage(invitation, token: token, label: label.isEmpty ? Self.defaultDeviceLabel : label, visit: visit, error: error, status: status)
        }
        guard csrf.check(formToken: form["csrf"], cookieValue: visit.csrfCookie) else { return try again("The form expired. Please fill it in again.", .forbidden) }
        guard !invitation.user.disabled else { return unusableLinkPage(visit) }
        guard (try? OTPDeviceRecord.validateLabel(label)) != nil else {
            return try again("Give the device a name of 1 to \(OTPDeviceRecord.maximumLabelLength) characters.", .badRequest)
        }
        let password = form["password"] ?? ""
        var newPassword: String?
        if configuration.authMode == .passwordAndOTP, invitation.record.kind == .enroll {
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
        let verifier = OTPVerifier(timeSkew: configuration.totpSkew)
        let state: OTPDeviceState
        switch verifier.verify(code: form["code"] ?? "", secret: invitation.secret, parameters: parameters, state: OTPDeviceState(), at: now) {
        case .accepted(let acceptance):
            // The confirming code counts as used: it cannot log in a second time.
            state = acceptance.newState
        case .rejected:
            if let offset = verifier.clockOffset(of: form["code"] ?? "", secret: invitation.secret, parameters: parameters, at: now) {
                return try again("That code is not valid now: your device's clock looks \(ClockOffsetText.describe(offset)). Set its time automatically, then enter the current code.", .badRequest)
            }
            return try again("That code does not match. Check that the app shows \(invitation.user.name) under \(configuration.totpIssuer), and enter the code it shows now.", .badRequest)
        }
        var ticket: AttemptTicket?
        if configuration.authMode == .passwordAndOTP, invitation.record.kind == .resetOTP {
            switch try await checkCurrentPassword(password, of: invitation.user, visit: visit, now: now) {
            case .admitted(let admitted): ticket = admitted
            case .refused(let message, let status): return try again(message, status)
            }
        }
        guard let codes = try await authenticator.vault.completeInvitation(invitation, password: newPassword, deviceLabel: label, parameters: parameters,
                                                                           state: state, at: now) else {
            if let ticket { await regulator.abandoned(ticket, now: now) }
            return unusableLinkPage(visit)
        }
        _ = try await store.unlock(userID: invitation.user.id)
        try await syncSessions(of: invitation.user)
        let level: AuthLevel = configuration.authMode == .otpOnly ? .code : .passwordAndCode
        let session = try await createSession(user: invitation.user, level: level, rememberMe: false, expiresAt: now + configuration.sessionExpiration, visit: visit, now: now)
        if let ticket {
            try await regulator.succeeded(ticket, user: invitation.user, client: visit.client, now: now, method: "reset_otp")
        }
        try await store.appendAudit(AuditEntry(time: now, event: .enrolled, userName: invitation.user.name, clientIP: visit.client.description,
                                               reason: "\(invitation.record.kind.rawValue), device '\(label)'"))
        logger.notice("invitation completed", metadata: ["user": "\(invitation.user.name)", "kind": "\(invitation.record.kind.rawValue)", "client": "\(visit.client)"])
        let intro = invitation.record.kind == .enroll ? "Your login is set up, and you are logged in."
            : "Your new authenticator app is set up; the old one no longer works. You are logged in."
        let html = page.recoveryCodes(codes, heading: "Your recovery codes", intro: intro,
                                      link: (label: "Continue", url: gate.decider.redirectTarget(nil, cookie: visit.cookie)), nonce: visit.nonce)
        return PortalResponses.page(html, status: .ok, nonce: visit.nonce, cookie: visit.cookie,
                                    setCookies: [Cookies.setCookie(session.cookieValue, for: visit.cookie, maxAge: nil)])
    }

    enum PasswordCheckOutcome {
        case admitted(AttemptTicket)
        case refused(message: String, status: HTTPResponse.Status)
    }

    /// Checks the current password of `user` as a login does: counted by regulation before the
    /// hash, a failure may ban. On success the attempt stays open for the caller to settle.
    func checkCurrentPassword(_ password: String, of user: UserRecord, visit: Visit, now: Int64) async throws -> PasswordCheckOutcome {
        let subject = regulator.subject(typedName: user.name, user: user)
        let ticket: AttemptTicket
        switch try await regulator.begin(subject, client: visit.client, now: now) {
        case .admitted(let admitted): ticket = admitted
        case .banned(let ban): return .refused(message: "Too many failed attempts. Try again in \(ban.retryAfter(now: now)) seconds.", status: .tooManyRequests)
        case .busy(let retryAfter): return .refused(message: "Many sign-ins are being checked right now. Wait \(retryAfter) seconds and try again.", status: .serviceUnavailable)
        }
        let check: PasswordCheck
        do {
            check = try await authenticator.vault.checkPasswordPadded(password, hash: user.passwordHash ?? authenticator.dummyHash, dummyHash: authenticator.dummyHash)
        } catch let error as StoreError where error.code == .busy {
            await regulator.abandoned(ticket, now: now)
            return .refused(message: "Many sign-ins are being checked right now. Wait a few seconds and try again.", status: .serviceUnavailable)
        }
        guard user.passwordHash != nil, check.isMatch else {
            if let ban = try await regulator.failed(ticket, subject: subject, reason: Authenticator.Failure.badPassword.rawValue, wrongCodeOf: nil, client: visit.client, now: now) {
                return .refused(message: "Too many failed attempts. Try again in \(ban.retryAfter(now: now)) seconds.", status: .tooManyRequests)
            }
            return .refused(message: "Incorrect password.", status: .unauthorized)
        }
        return .admitted(ticket)
    }
}
