import NIOCore
import NIOHTTP1

/// Whether an HTTP/1 connection outlives a request (RFC 9112 §9.3, §9.6), decided where the HTTP
/// version is still known: between NIO's parser and the conversion to HTTP types, which carry no
/// version and always answer HTTP/1.1.
///
/// - A request that does not keep the connection alive (HTTP/1.0 without `keep-alive`, or a
///   `close` token in any case) goes on with exactly `Connection: close`, the one form after which
///   Hummingbird stops reading and closes once it has answered.
/// - Its response says `Connection: close`. Without it, a client that pools connections (nginx
///   with `keepalive` in its upstream, even though it sent `Connection: close`) takes the HTTP/1.1
///   response as reusable, sends its next request on a connection the server is closing, and
///   gets no answer (nginx: 502, "upstream prematurely closed connection").
final class HTTP1Persistence: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// For each request whose final response has not begun, oldest first: whether it keeps the
    /// connection open.
    private var keepAlive = CircularBuffer<Bool>(initialCapacity: 2)

    /// Puts one right behind the request parser of `pipeline`, an HTTP/1 server pipeline as
    /// Hummingbird's `HTTP1Channel` sets it up: before the conversion to HTTP types.
    static func add(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        let parser = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try pipeline.addHandler(HTTP1Persistence(), position: .after(parser))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        let keep = head.isKeepAlive
        keepAlive.append(keep)
        if !keep { head.headers.replaceOrAdd(name: "connection", value: "close") }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Interim (1xx) responses do not end a request; a response to no request (a parse error) has its own.
        guard case .head(var head) = unwrapOutboundIn(data), head.status.code >= 200, let keep = keepAlive.popFirst() else {
            context.write(data, promise: promise)
            return
        }
        if !keep { head.headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}
