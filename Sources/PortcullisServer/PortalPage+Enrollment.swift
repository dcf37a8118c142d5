import PortcullisCore

/// The pages of an invitation link (`/enroll`) and the recovery codes shown once.
extension PortalPage {
    /// What the invitation page shows.
    struct EnrollmentForm {
        var user: String
        /// An enrolment chooses a new password; a reset asks for the current one; `otp_only` neither.
        enum PasswordField { case choose(minimumLength: Int), current, none }
        var password: PasswordField
        /// The device's QR code as an `<svg>` element (already labelled).
        var qrSVG: String
        /// The secret in Base32, for typing into the app.
        var secret: String
        var digits: Int
        var deviceLabel: String
        var token: String
        /// The sealed secret, carried by the form (``Portal/pendingSecret(context:)``).
        var pending: String
        var csrfToken: String
        var error: String?
    }

    func enrollment(_ form: EnrollmentForm, nonce: String) -> String {
        var passwordFields = ""
        var step = 1
        switch form.password {
        case .choose(let minimum):
            passwordFields = """
            <fieldset>
            <legend>\(step). Choose a password</legend>
            <label for="password">New password</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required minlength="\(minimum)" maxlength="1024" aria-describedby="password-hint" autofocus>
            <p class="hint" id="password-hint">At least \(minimum) characters. A few words with spaces between them are easy to type and hard to guess.</p>
            <label for="password2">New password again</label>
            <input id="password2" name="password2" type="password" autocomplete="new-password" required minlength="\(minimum)" maxlength="1024">
            </fieldset>

            """
            step += 1
        case .current:
            passwordFields = """
            <fieldset>
            <legend>\(step). Confirm it is you</legend>
            <label for="password">Your password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024" autofocus>
            </fieldset>

            """
            step += 1
        case .none:
            break
        }
        let error = form.error.map { "<p class=\"error\" role=\"alert\">\(HTML.escape($0))</p>\n" } ?? ""
        let intro = if case .current = form.password {
            "This page replaces the authenticator app of <strong>\(HTML.escape(form.user))</strong>: once you finish, the old one stops working and your other sessions end."
        } else {
            "This page sets up the login of <strong>\(HTML.escape(form.user))</strong>. It works once."
        }
        let body = """
        <h1>\(HTML.escape(title))</h1>
        <h2>Set up your login</h2>
        <p>\(intro)</p>
        \(error)<form method="post" action="/enroll">
        <input type="hidden" name="csrf" value="\(HTML.escape(form.csrfToken))">
        <input type="hidden" name="token" value="\(HTML.escape(form.token))">
        <input type="hidden" name="pending" value="\(HTML.escape(form.pending))">
        \(passwordFields)<fieldset>
        <legend>\(step). Add your authenticator app</legend>
        \(authenticatorFields(qrSVG: form.qrSVG, secret: form.secret, digits: form.digits, label: form.deviceLabel))
        </fieldset>
        <button type="submit">Finish</button>
        </form>
        """
        return document(heading: "Set up your login", body: body, nonce: nonce)
    }

    /// The QR code, the key as text, the device's name and the confirming code.
    func authenticatorFields(qrSVG: String, secret: String, digits: Int, label: String) -> String {
        """
        <p>Scan this code with an authenticator app (such as Aegis, FreeOTP, Google Authenticator or 1Password).</p>
        <div class="qr">\(qrSVG)</div>
        <p>No camera? Type this key into the app instead:</p>
        <p class="secret">\(HTML.escape(Self.grouped(secret)))</p>
        <label for="label">Name of this device</label>
        <input id="label" name="label" type="text" required maxlength="64" autocomplete="off" value="\(HTML.escape(label))" aria-describedby="label-hint">
        <p class="hint" id="label-hint">So you can tell your devices apart later, e.g. "Phone".</p>
        <label for="code">Code the app shows</label>
        <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{\(digits),\(digits + 2)}" required maxlength="\(digits + 2)" aria-describedby="code-hint">
        <p class="hint" id="code-hint">The \(digits)-digit code, to show that the app is set up right.</p>
        """
    }

    /// Recovery codes, shown once, with a link on.
    func recoveryCodes(_ codes: [String], heading: String, intro: String, link: (label: String, url: String), nonce: String) -> String {
        let items = codes.map { "<li>\(HTML.escape($0))</li>" }.joined(separator: "\n")
        let body = """
        <h1>\(HTML.escape(title))</h1>
        <h2>\(HTML.escape(heading))</h2>
        <p>\(HTML.escape(intro))</p>
        <p>Keep these recovery codes somewhere safe: print them, or put them in a password manager. Each one logs you in once, typed where the one-time code goes, when your authenticator is not at hand. <strong>They are not shown again.</strong></p>
        <ol class="codes">
        \(items)
        </ol>
        <p><a class="button" href="\(HTML.escape(link.url))">\(HTML.escape(link.label))</a></p>
        """
        return document(heading: heading, body: body, nonce: nonce)
    }

    /// A Base32 secret in groups of four, as apps show and people type it.
    static func grouped(_ secret: String) -> String {
        var groups: [Substring] = []
        var rest = Substring(secret)
        while !rest.isEmpty {
            groups.append(rest.prefix(4))
            rest = rest.dropFirst(4)
        }
        return groups.joined(separator: " ")
    }
}
