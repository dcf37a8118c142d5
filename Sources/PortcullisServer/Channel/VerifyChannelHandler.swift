import HTTPTypes
import NIOCore
import NIOHTTPTypes
import PortcullisCore

/// Answers verify requests whose session is in memory right on the event loop, ahead of
/// Hummingbird's router, and passes every other request on.
///
/// This is the hot path: every request a proxy handles comes here. A valid session in memory, or
/// HTTP Basic credentials still lingering, are answered synchronously, with no task, no `await` and
/// no store; anything else (a login page, a token to read from the store, Basic credentials to
/// check, a redirect) goes to the router as before. Responses stay
/// in order when requests are pipelined: once one request was passed on, the following ones are
/// passed on too until the router's responses have ended.
final class VerifyChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let gate: Gate
    let basic: BasicSupport?
    /// The TCP peer, read once per connection.
    private var peer = GateContext.loopback
    private var deadlines: ConnectionDeadlines?
    /// Requests passed to the router whose responses have not ended.
    private var passedOn = 0
    /// Inside a request answered here: its remaining parts are dropped.
    private var answered = false
    private var needsFlush = false

    init(gate: Gate, basic: BasicSupport?) {
        self.gate = gate
        self.basic = basic
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if let address = context.channel.remoteAddress?.ipAddress.flatMap({ IPAddress($0) }) { peer = address }
        deadlines = try? context.pipeline.syncOperations.handler(type: ConnectionDeadlines.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let request):
            deadlines?.headReceived()
            if passedOn == 0, let fields = answer(request) {
                answered = true
                context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
                context.write(wrapOutboundOut(.end(nil)), promise: nil)
                needsFlush = true
                deadlines?.responseEnded()
                return
            }
            answered = false
            passedOn += 1
        case .body:
            if answered { return }
        case .end:
            deadlines?.requestEnded()
            if answered { return }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            passedOn = max(0, passedOn - 1)
            deadlines?.responseEnded()
        }
        context.write(data, promise: promise)
    }

    /// The headers of a 200 answer when `request` is a verify request with a valid session in memory
    /// or lingering Basic credentials.
    private func answer(_ request: HTTPRequest) -> HTTPFields? {
        guard request.method == .get || request.method == .head, let path = request.path,
              let style = VerifyRoutes.style(ofPath: path) else { return nil }
        let headers = VerifyHeaders(request.headerFields)
        // A client that asks to close is left to the router, which closes after answering.
        if headers.hasConnection { return nil }
        guard let (verdict, cookie) = gate.verifyFromMemory(headers.request, cookieHeader: headers.cookie, peer: peer,
                                                            forwardedFor: headers.forwardedFor, style: style) else { return nil }
        var answer = verdict
        switch verdict {
        case .redirect, .unauthorized:
            // Not logged in: lingering Basic credentials may say who it is; the rules decide again with them.
            if let cookie, let (identity, level) = lingeringBasic(headers, cookie: cookie) {
                answer = gate.authorize(identity, level: level, request: headers.request, peer: peer, forwardedFor: headers.forwardedFor, style: style, cookie: cookie)
            }
        default:
            break
        }
        var fields: HTTPFields
        switch answer {
        case .allow(let identity):
            fields = VerifyRoutes.allowedFields(identity)
            gate.metrics.verified(style, .allowed)
        case .allowAnonymous:
            fields = VerifyRoutes.anonymousFields
            gate.metrics.verified(style, .allowedAnonymous)
        // Refusals have a body and are rare: the router writes them.
        case .redirect, .unauthorized, .badRequest, .forbidden, .denied: return nil
        }
        fields[.contentLength] = "0"
        return fields
    }

    /// The identity of Basic credentials in `headers` accepted recently for `cookie`'s domain.
    private func lingeringBasic(_ headers: VerifyHeaders, cookie: SessionCookieConfiguration) -> (identity: Identity, level: AuthLevel)? {
        guard let basic, basic.isEnabled(for: cookie), let authorization = headers.authorization,
              let key = basic.cache.key(forHeader: authorization, client: gate.resolver.resolve(peer: peer, forwardedFor: headers.forwardedFor))
        else { return nil }
        return basic.lingeringIdentity(key, now: gate.clock.now(), writes: gate.writes)
    }
}
