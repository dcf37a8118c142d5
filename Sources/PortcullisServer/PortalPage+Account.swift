import PortcullisCore
import PortcullisStore

/// `/account`: what a logged-in person sees of their own login, and the forms that change it.
extension PortalPage {
    /// What the account page shows.
    struct AccountView {
        var user: UserRecord
        /// A second factor within the last 5 minutes: the change forms are shown.
        var recent: Bool
        /// Whether the login asks for a password at all (`auth.mode`).
        var hasPasswords: Bool
        var devices: [OTPDeviceRecord]
        var recoveryCodesLeft: Int
        var passwordMinLength: Int
        var appPasswords: [AppPasswordRecord]
        var sessions: [SessionRecord]
        var currentSession: [UInt8]
        var csrfToken: String
        var notice: String?
        var error: String?
        var now: Int64
    }

    func account(_ view: AccountView, nonce: String) -> String {
        let csrf = "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(view.csrfToken))\">"
        let who = view.user.displayName.isEmpty ? HTML.escape(view.user.name) : "\(HTML.escape(view.user.displayName)) (\(HTML.escape(view.user.name)))"
        var body = """
        <h1>\(HTML.escape(title))</h1>
        <h2>Your account</h2>
        <p>Logged in as <strong>\(who)</strong>. <a href="/logout">Log out</a></p>

        """
        if let notice = view.notice { body += "<p class=\"notice\" role=\"status\">\(HTML.escape(notice))</p>\n" }
        if let error = view.error { body += "<p class=\"error\" role=\"alert\">\(HTML.escape(error))</p>\n" }
        if !view.recent {
            body += """
            <form method="post" action="/account/confirm">
            \(csrf)
            <label for="confirm-code">To make changes, enter a code from your authenticator app</label>
            <input id="confirm-code" name="code" type="text" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" pattern="[0-9A-Za-z \\-]{6,20}" required maxlength="20" aria-describedby="confirm-hint">
            <p class="hint" id="confirm-hint">Or one of your recovery codes. Changes are then possible for 5 minutes.</p>
            <button type="submit">Confirm</button>
            </form>

            """
        }
        body += devicesSection(view, csrf: csrf)
        if view.hasPasswords { body += passwordSection(view, csrf: csrf) }
        body += recoverySection(view, csrf: csrf)
        body += appPasswordSection(view, csrf: csrf)
        body += sessionSection(view, csrf: csrf)
        return document(heading: "Your account", body: body, nonce: nonce, wide: true)
    }

    private func devicesSection(_ view: AccountView, csrf: String) -> String {
        var html = "<section aria-labelledby=\"devices\">\n<h3 id=\"devices\">Authenticator apps and devices</h3>\n"
        if view.devices.isEmpty { html += "<p>None yet.</p>\n" } else {
            html += "<div class=\"table\"><table>\n<thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Type</th><th scope=\"col\">Added</th><th scope=\"col\">Last used</th></tr></thead>\n<tbody>\n"
        }
        for device in view.devices {
            let added: String = Self.time(device.createdAt)
            let used: String = device.lastUsedAt.map { Self.time($0) } ?? "never"
            html += "<tr><td>" + HTML.escape(device.label) + "</td><td>" + device.parameters.type.rawValue.uppercased() + "</td><td>" + added + "</td><td>" + used + "</td></tr>\n"
        }
        if !view.devices.isEmpty { html += "</tbody>\n</table></div>\n" }
        guard view.recent else { return html + "</section>\n" }
        for (index, device) in view.devices.enumerated() {
            let label = HTML.escape(device.label)
            html += """
            <form class="inline" method="post" action="/account/devices/rename">
            \(csrf)<input type="hidden" name="label" value="\(label)">
            <label for="rename-\(index)">New name for “\(label)”</label>
            <input id="rename-\(index)" name="new_label" type="text" required maxlength="64" autocomplete="off">
            <button type="submit" class="small">Rename<span class="visually-hidden"> “\(label)”</span></button>
            </form>

            """
            if view.devices.count > 1 {
                html += """
                <form class="inline" method="post" action="/account/devices/remove">
                \(csrf)<input type="hidden" name="label" value="\(label)">
                <button type="submit" class="small secondary">Remove “\(label)”</button>
                </form>

                """
            }
        }
        if view.devices.count == 1 { html += "<p class=\"hint\">Your only device cannot be removed: add another one first.</p>\n" }
        html += "<p><a class=\"button\" href=\"/account/devices/new\">Add a device</a></p>\n</section>\n"
        return html
    }

    private func passwordSection(_ view: AccountView, csrf: String) -> String {
        var html = "<section aria-labelledby=\"password-heading\">\n<h3 id=\"password-heading\">Password</h3>\n"
        guard view.recent else { return html + "<p>Set. Confirm with a code above to change it.</p>\n</section>\n" }
        html += """
        <form method="post" action="/account/password">
        \(csrf)
        <input type="text" name="username" autocomplete="username" value="\(HTML.escape(view.user.name))" hidden>
        <label for="current-password">Current password</label>
        <input id="current-password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
        <label for="new-password">New password</label>
        <input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="\(view.passwordMinLength)" maxlength="1024" aria-describedby="new-password-hint">
        <p class="hint" id="new-password-hint">At least \(view.passwordMinLength) characters. Changing it ends your other sessions.</p>
        <label for="new-password2">New password again</label>
        <input id="new-password2" name="new_password2" type="password" autocomplete="new-password" required minlength="\(view.passwordMinLength)" maxlength="1024">
        <button type="submit">Change password</button>
        </form>
        </section>

        """
        return html
    }

    private func recoverySection(_ view: AccountView, csrf: String) -> String {
        let left = view.recoveryCodesLeft == 1 ? "1 recovery code left" : "\(view.recoveryCodesLeft) recovery codes left"
        var html = "<section aria-labelledby=\"recovery\">\n<h3 id=\"recovery\">Recovery codes</h3>\n<p>You have \(left).</p>\n"
        if view.recent {
            html += """
            <form method="post" action="/account/recovery-codes">
            \(csrf)
            <p class="hint">New codes replace all of the old ones.</p>
            <button type="submit" class="secondary">Make new recovery codes</button>
            </form>

            """
        }
        return html + "</section>\n"
    }

    private func appPasswordSection(_ view: AccountView, csrf: String) -> String {
        var html = "<section aria-labelledby=\"app-passwords\">\n<h3 id=\"app-passwords\">App passwords</h3>\n"
        html += "<p class=\"hint\">For programs that log in with HTTP Basic and cannot ask for a code (calendar and file sync apps, scripts).</p>\n"
        if view.appPasswords.isEmpty {
            html += "<p>None.</p>\n"
        } else {
            html += "<div class=\"table\"><table>\n<thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Created</th><th scope=\"col\">Expires</th><th scope=\"col\">Last used</th><th scope=\"col\"><span class=\"muted\">Action</span></th></tr></thead>\n<tbody>\n"
            for password in view.appPasswords {
                let label = HTML.escape(password.label)
                let expires: String = password.expiresAt.map { $0 <= view.now ? "expired" : Self.time($0) } ?? "never"
                let used: String = password.lastUsedAt.map { Self.time($0) } ?? "never"
                let revoke = view.recent ? """
                    <form method="post" action="/account/app-passwords/revoke">\(csrf)<input type="hidden" name="label" value="\(label)"><button type="submit" class="small secondary">Revoke “\(label)”</button></form>
                    """ : ""
                html += "<tr><td>\(label)</td><td>\(Self.time(password.createdAt))</td><td>\(expires)</td><td>\(used)</td><td>\(revoke)</td></tr>\n"
            }
            html += "</tbody>\n</table></div>\n"
        }
        if view.recent {
            html += """
            <form class="inline" method="post" action="/account/app-passwords">
            \(csrf)
            <div><label for="app-label">Name</label>
            <input id="app-label" name="label" type="text" required maxlength="64" pattern="[A-Za-z0-9._@\\-]{1,64}" autocomplete="off" aria-describedby="app-label-hint"></div>
            <div><label for="app-expires">Expires after</label>
            <select id="app-expires" name="expires"><option value="30d">30 days</option><option value="90d" selected>90 days</option><option value="365d">1 year</option><option value="never">never</option></select></div>
            <button type="submit" class="small">Create</button>
            </form>
            <p class="hint" id="app-label-hint">Letters, digits, '.', '_', '-' or '@', e.g. phone-calendar.</p>

            """
        }
        return html + "</section>\n"
    }

    private func sessionSection(_ view: AccountView, csrf: String) -> String {
        var html = "<section aria-labelledby=\"sessions\">\n<h3 id=\"sessions\">Where you are logged in</h3>\n"
        html += "<div class=\"table\"><table>\n<thead><tr><th scope=\"col\">From</th><th scope=\"col\">Started</th><th scope=\"col\">Last active</th><th scope=\"col\"><span class=\"muted\">Action</span></th></tr></thead>\n<tbody>\n"
        for session in view.sessions {
            let current = session.idHash == view.currentSession
            let action = current ? "<strong>this browser</strong>" : """
                <form method="post" action="/account/sessions/end">\(csrf)<input type="hidden" name="session" value="\(session.shortID)"><button type="submit" class="small secondary">End<span class="visually-hidden"> the session from \(HTML.escape(session.clientIP)), started \(Self.time(session.createdAt))</span></button></form>
                """
            html += "<tr><td>\(HTML.escape(session.clientIP))</td><td>\(Self.time(session.createdAt))</td><td>\(Self.time(session.lastActivity))</td><td>\(action)</td></tr>\n"
        }
        html += "</tbody>\n</table></div>\n"
        if view.sessions.count > 1 {
            html += """
            <form method="post" action="/account/sessions/end-others">
            \(csrf)
            <button type="submit" class="secondary">End all other sessions</button>
            </form>

            """
        }
        return html + "</section>\n"
    }

    /// The page that adds a device from the account page: the QR code, the key, a name and a code.
    func newDevice(user: String, qrSVG: String, secret: String, digits: Int, label: String, pending: String, csrfToken: String, error: String?, nonce: String) -> String {
        let error = error.map { "<p class=\"error\" role=\"alert\">\(HTML.escape($0))</p>\n" } ?? ""
        let body = """
        <h1>\(HTML.escape(title))</h1>
        <h2>Add a device</h2>
        \(error)<form method="post" action="/account/devices/new">
        <input type="hidden" name="csrf" value="\(HTML.escape(csrfToken))">
        <input type="hidden" name="pending" value="\(HTML.escape(pending))">
        \(authenticatorFields(qrSVG: qrSVG, secret: secret, digits: digits, label: label))
        <button type="submit">Add this device</button>
        </form>
        <p><a href="/account">Back to your account</a></p>
        """
        return document(heading: "Add a device", body: body, nonce: nonce)
    }

    /// A new app password, shown once.
    func appPasswordMade(label: String, password: String, expires: String, nonce: String) -> String {
        let body = """
        <h1>\(HTML.escape(title))</h1>
        <h2>App password “\(HTML.escape(label))”</h2>
        <p>Use it as the password of HTTP Basic in one program, with no code (expires: \(HTML.escape(expires))).</p>
        <p class="secret">\(HTML.escape(password))</p>
        <p><strong>It is shown only now.</strong> Copy it into the program before you leave this page.</p>
        <p><a class="button" href="/account">Back to your account</a></p>
        """
        return document(heading: "App password", body: body, nonce: nonce)
    }

    /// A time for people: `2026-12-01 05:49 UTC`.
    static func time(_ unixTime: Int64) -> String {
        let stamp = JSONLogLine.timestamp(unixSeconds: unixTime, milliseconds: 0)
        return stamp.prefix(10) + " " + stamp.dropFirst(11).prefix(5) + " UTC"
    }
}
