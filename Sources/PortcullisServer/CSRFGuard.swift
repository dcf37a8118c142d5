import Crypto
import PortcullisCore

/// Cross-site request forgery protection for the portal's forms (double submit, signed).
///
/// A browser gets a random, host-only, `SameSite=Strict` cookie before it sees a form; the form
/// carries an HMAC of that cookie under a key only this server knows. A POST passes when its form
/// token matches its cookie. Another site can make a browser send the cookie but cannot read it,
/// so it cannot produce the token.
struct CSRFGuard: Sendable {
    static let cookieName = "portcullis_csrf"
    let key: SymmetricKey

    init(key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.key = key
    }

    /// A new cookie value (256 random bits, base64url).
    func newCookieValue() -> String {
        var random = SystemRandomNumberGenerator()
        return SessionToken.generate(using: &random).cookieValue
    }

    /// The cookie value from a `Cookie` header, if it is one this guard could have made.
    func cookieValue(in cookieHeader: String?) -> String? {
        guard let value = Cookies.value(named: Self.cookieName, in: cookieHeader), SessionToken(cookieValue: value) != nil else { return nil }
        return String(value)
    }

    /// The token the form carries for a cookie value.
    func formToken(for cookieValue: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(cookieValue.utf8), using: key)
        return Base64.encode(Array(mac), padding: false).replacing("+", with: "-").replacing("/", with: "_")
    }

    /// Whether the form's token belongs to the cookie (compared in constant time).
    func check(formToken: String?, cookieValue: String?) -> Bool {
        guard let formToken, let cookieValue else { return false }
        return ConstantTime.equals(Array(formToken.utf8), Array(self.formToken(for: cookieValue).utf8))
    }
}
