/// The portal's pages: server-rendered HTML with no scripts and no external assets. The one style
/// sheet is inline and carries the response's CSP nonce.
struct PortalPage: Sendable {
    /// `portal.title`.
    let title: String
    /// A `data:` URI of `portal.logo_file`, if any.
    let logoDataURI: String?

    /// What the login form shows.
    struct LoginForm {
        var askUsername: Bool
        var askPassword: Bool
        /// False when the address after login needs one factor: the password alone.
        var askCode: Bool = true
        /// Set for step-up: the logged-in user, whose session needs a code for this address.
        var stepUpUser: String?
        var offerRememberMe: Bool
        var rememberMeDays: Int64
        var username: String = ""
        var redirect: String?
        var csrfToken: String
        var error: String?
    }

    func login(_ form: LoginForm, nonce: String) -> String {
        var fields = ""
        if let user = form.stepUpUser {
            fields += """
            <p>You are logged in as <strong>\(HTML.escape(user))</strong>. This address needs a one-time code as well.</p>
            <input type="hidden" name="step_up" value="1">

            """
        }
        if form.askUsername {
            fields += """
            <label for="username">Username</label>
            <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="\(HTML.escape(form.username))"\(form.username.isEmpty ? " autofocus" : "")>

            """
        }
        if form.askPassword {
            fields += """
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"\(!form.askCode && !form.username.isEmpty ? " autofocus" : "")>

            """
        }
        if form.askCode {
            fields += """
            <label for="code">One-time code</label>
            <input id="code" name="code" type="text" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" pattern="[0-9A-Za-z \\-]{6,20}" required maxlength="20" aria-describedby="code-hint"\(!form.askUsername || !form.username.isEmpty ? " autofocus" : "")>
            <p class="hint" id="code-hint">The code your authenticator app shows now, or one of your recovery codes.</p>

            """
        }
        if form.offerRememberMe {
            fields += """
            <label class="check"><input name="remember_me" type="checkbox" value="1"> Keep me logged in for \(form.rememberMeDays) days</label>

            """
        }
        let error = form.error.map { "<p class=\"error\" role=\"alert\">\(HTML.escape($0))</p>\n" } ?? ""
        let body = """
        <h1>\(HTML.escape(title))</h1>
        \(error)<form method="post" action="/login">
        <input type="hidden" name="csrf" value="\(HTML.escape(form.csrfToken))">
        \(form.redirect.map { "<input type=\"hidden\" name=\"rd\" value=\"\(HTML.escape($0))\">\n" } ?? "")\(fields)<button type="submit">Log in</button>
        </form>
        """
        return document(heading: "Log in", body: body, nonce: nonce)
    }

    func logoutConfirm(user: String, csrfToken: String, redirect: String?, nonce: String) -> String {
        let body = """
        <h1>\(HTML.escape(title))</h1>
        <p>You are logged in as <strong>\(HTML.escape(user))</strong>.</p>
        <form method="post" action="/logout">
        <input type="hidden" name="csrf" value="\(HTML.escape(csrfToken))">
        \(redirect.map { "<input type=\"hidden\" name=\"rd\" value=\"\(HTML.escape($0))\">\n" } ?? "")<button type="submit">Log out</button>
        </form>
        """
        return document(heading: "Log out", body: body, nonce: nonce)
    }

    /// The page of an address the rules deny: who is logged in (when known), and where to log out
    /// to use another account. `portal` is the portal's base URL (the page is shown on the app's host).
    func denied(user: String?, address: String?, portal: String, nonce: String) -> String {
        let who = user.map { "You are logged in as <strong>\(HTML.escape($0))</strong> and have" } ?? "You have"
        // At most 300 characters of the address: enough to recognise it, and the page stays small.
        let shown = address.map { $0.count > 300 ? String($0.prefix(300)) + "…" : $0 }
        let target = shown.map { " <span class=\"address\">\(HTML.escape($0))</span>" } ?? " this address"
        let body = """
        <h1>\(HTML.escape(title))</h1>
        <h2>No access</h2>
        <p>\(who) no access to\(target).</p>
        <p>To use another account, log out first.</p>
        <p><a class="button" href="\(HTML.escape(portal))/logout">Log out</a></p>
        """
        return document(heading: "No access", body: body, nonce: nonce)
    }

    /// A page with a heading, a sentence and up to two links.
    func message(heading: String, text: String, link: (label: String, url: String)?, secondLink: (label: String, url: String)? = nil, nonce: String) -> String {
        let body = """
        <h1>\(HTML.escape(title))</h1>
        <h2>\(HTML.escape(heading))</h2>
        <p>\(HTML.escape(text))</p>
        \(link.map { "<p><a class=\"button\" href=\"\(HTML.escape($0.url))\">\(HTML.escape($0.label))</a></p>" } ?? "")
        \(secondLink.map { "<p><a class=\"button secondary\" href=\"\(HTML.escape($0.url))\">\(HTML.escape($0.label))</a></p>" } ?? "")
        """
        return document(heading: heading, body: body, nonce: nonce)
    }

    /// The portal's home for someone logged in: who, their account page, and logging out.
    func loggedIn(user: String, nonce: String) -> String {
        message(heading: "Logged in", text: "You are logged in as \(user).", link: ("Your account", "/account"), secondLink: ("Log out", "/logout"), nonce: nonce)
    }

    /// A whole page around `body`; `wide` for pages with lists (the account page).
    func document(heading: String, body: String, nonce: String, wide: Bool = false) -> String {
        let logo = logoDataURI.map { "<img class=\"logo\" src=\"\(HTML.escape($0))\" alt=\"\">\n" } ?? ""
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <meta name="robots" content="noindex">
        <title>\(HTML.escape(heading)) · \(HTML.escape(title))</title>
        <style nonce="\(nonce)">\(Self.styleSheet)</style>
        </head>
        <body>
        <main\(wide ? " class=\"wide\"" : "")>
        \(logo)\(body)
        </main>
        </body>
        </html>

        """
    }

    static let styleSheet = """
    :root{--bg:#f4f5f7;--card:#fff;--text:#1c1f24;--muted:#5b6470;--line:#c9ced6;--accent:#2456d6;--accent-text:#fff;--error-bg:#fde8e8;--error:#a11b1b}
    @media (prefers-color-scheme:dark){:root{--bg:#121418;--card:#1d2026;--text:#e8eaed;--muted:#a2a9b4;--line:#3a3f48;--accent:#7aa2ff;--accent-text:#0b1020;--error-bg:#3b1618;--error:#ffb4b4}}
    *{box-sizing:border-box}
    body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
    main{width:100%;max-width:380px;margin:16px;padding:28px 24px;background:var(--card);border:1px solid var(--line);border-radius:12px}
    h1{font-size:1.4rem;margin:0 0 16px}
    h2{font-size:1.1rem;margin:0 0 8px}
    .logo{display:block;max-width:120px;max-height:64px;margin:0 0 12px}
    label{display:block;font-weight:600;margin:14px 0 4px}
    input[type=text],input[type=password]{width:100%;padding:10px 12px;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:8px}
    select{padding:8px 10px;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:8px}
    input:focus-visible,select:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
    #code{letter-spacing:.2em;font-variant-numeric:tabular-nums}
    .hint{margin:4px 0 0;color:var(--muted);font-size:.875rem}
    .check{display:flex;gap:8px;align-items:center;font-weight:400}
    button,.button{display:inline-block;width:100%;margin-top:20px;padding:11px;font:inherit;font-weight:600;text-align:center;text-decoration:none;color:var(--accent-text);background:var(--accent);border:0;border-radius:8px;cursor:pointer}
    a{color:var(--accent)}
    .address{overflow-wrap:anywhere;font-family:ui-monospace,monospace;font-size:.9rem}
    .error{margin:0 0 8px;padding:10px 12px;background:var(--error-bg);color:var(--error);border-radius:8px}
    .notice{margin:0 0 8px;padding:10px 12px;background:var(--bg);border:1px solid var(--line);border-radius:8px}
    main.wide{max-width:720px}
    .table{overflow-x:auto}
    td{overflow-wrap:anywhere}
    .visually-hidden{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
    fieldset{border:1px solid var(--line);border-radius:8px;margin:16px 0 0;padding:4px 14px 14px}
    legend{font-weight:600;padding:0 6px}
    .qr{margin:8px 0}
    .qr svg{display:block;width:100%;max-width:220px;height:auto;border-radius:4px}
    .secret,.codes,code{font-family:ui-monospace,"SF Mono",Menlo,monospace}
    .secret{overflow-wrap:anywhere;font-size:1.05rem;letter-spacing:.05em}
    .codes{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:6px 16px;padding-left:1.6em;font-size:1.05rem}
    section{border-top:1px solid var(--line);margin-top:24px;padding-top:8px}
    table{width:100%;border-collapse:collapse;font-size:.9rem}
    th,td{text-align:left;padding:6px 8px 6px 0;border-bottom:1px solid var(--line);vertical-align:top}
    .inline{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;margin:0}
    .inline label{margin:0 0 4px}
    .inline input[type=text]{width:auto;flex:1 1 140px}
    .inline button,button.small{width:auto;margin-top:0;padding:7px 12px;font-size:.9rem}
    button.secondary,.button.secondary{background:transparent;color:var(--accent);border:1px solid var(--accent)}
    .muted{color:var(--muted)}
    """
}
