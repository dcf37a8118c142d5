import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisCore

/// Responses of the portal's pages, with the headers every page carries.
enum PortalResponses {
    /// A fresh CSP nonce (128 random bits).
    static func nonce() -> String {
        var random = SystemRandomNumberGenerator()
        return Base64.encode(SecretGenerator.makeSecret(byteCount: 16, using: &random))
    }

    /// The Content-Security-Policy of a page: nothing but the nonce'd style sheet and inline images,
    /// forms only to this portal and, after login, to the cookie's domain (browsers check the
    /// redirect that follows a POST against `form-action`).
    static func contentSecurityPolicy(nonce: String, cookie: SessionCookieConfiguration?) -> String {
        var formTargets = "'self'"
        if let cookie {
            let scheme = cookie.secure ? "https" : "http"
            formTargets += " \(scheme)://\(cookie.domain):* \(scheme)://*.\(cookie.domain):*"
        }
        return "default-src 'none'; style-src 'nonce-\(nonce)'; img-src data:; form-action \(formTargets); frame-ancestors 'none'; base-uri 'none'"
    }

    static func page(_ html: String, status: HTTPResponse.Status, nonce: String, cookie: SessionCookieConfiguration?, setCookies: [String] = []) -> Response {
        var fields = securityHeaders(nonce: nonce, cookie: cookie)
        fields[.contentType] = "text/html; charset=utf-8"
        for value in setCookies { fields.append(HTTPField(name: .setCookie, value: value)) }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    static func redirect(to location: String, status: HTTPResponse.Status = .seeOther, setCookies: [String] = []) -> Response {
        var fields = securityHeaders(nonce: nil, cookie: nil)
        fields[.location] = location
        for value in setCookies { fields.append(HTTPField(name: .setCookie, value: value)) }
        return Response(status: status, headers: fields)
    }

    static func json(_ text: String, status: HTTPResponse.Status) -> Response {
        let fields: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func securityHeaders(nonce: String?, cookie: SessionCookieConfiguration?) -> HTTPFields {
        var fields: HTTPFields = [
            .cacheControl: "no-store",
            HeaderNames.referrerPolicy: "no-referrer",
            HeaderNames.frameOptions: "DENY",
            HeaderNames.contentTypeOptions: "nosniff",
        ]
        if let nonce {
            fields[.contentSecurityPolicy] = contentSecurityPolicy(nonce: nonce, cookie: cookie)
        } else {
            fields[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        }
        return fields
    }
}
