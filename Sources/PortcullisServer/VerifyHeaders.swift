import HTTPTypes
import PortcullisCore

/// The headers a verify request is decided on, read in one pass over the fields (this runs for every
/// request a proxy handles). A header sent more than once reads as its values joined, as
/// `HTTPFields`' subscript joins them: `, ` between values, `; ` between cookies.
struct VerifyHeaders {
    var request = VerifyRequest()
    var cookie: String?
    var forwardedFor: String?
    var authorization: String?
    /// Whether the request has a `Connection` header (a client that may want to close).
    var hasConnection = false

    init(_ fields: HTTPFields) {
        for field in fields {
            switch field.name {
            case .cookie: Self.add(field.value, to: &cookie, separator: "; ")
            case HeaderNames.forwardedProto: Self.add(field.value, to: &request.forwardedProto)
            case HeaderNames.forwardedHost: Self.add(field.value, to: &request.forwardedHost)
            case HeaderNames.forwardedURI: Self.add(field.value, to: &request.forwardedURI)
            case HeaderNames.forwardedMethod: Self.add(field.value, to: &request.forwardedMethod)
            case HeaderNames.forwardedFor: Self.add(field.value, to: &forwardedFor)
            case HeaderNames.originalURL: Self.add(field.value, to: &request.originalURL)
            case HeaderNames.originalMethod: Self.add(field.value, to: &request.originalMethod)
            case .accept: Self.add(field.value, to: &request.accept)
            case HeaderNames.requestedWith: Self.add(field.value, to: &request.requestedWith)
            case .authorization: Self.add(field.value, to: &authorization)
            case .connection: hasConnection = true
            default: continue
            }
        }
    }

    private static func add(_ value: String, to slot: inout String?, separator: String = ", ") {
        slot = slot.map { $0 + separator + value } ?? value
    }
}
