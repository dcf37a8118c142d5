import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
@testable import PortcullisServer
import Testing

/// The persistence handler in the HTTP/1 pipeline Hummingbird builds (NIO's parser and encoder,
/// the conversion to HTTP types): what the router sees of `Connection`, and what the answer says.
@Suite("HTTP/1 connection persistence") struct HTTP1PersistenceTests {
    /// The request heads that reached the router.
    final class Router: ChannelInboundHandler {
        typealias InboundIn = HTTPRequestPart
        var heads: [HTTPRequest] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let request) = unwrapInboundIn(data) { heads.append(request) }
        }
    }

    static func pipeline() throws -> (EmbeddedChannel, Router) {
        let channel = EmbeddedChannel()
        let router = Router()
        let sync = channel.pipeline.syncOperations
        try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false)
        try sync.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try sync.addHandler(router)
        try HTTP1Persistence.add(to: sync)
        return (channel, router)
    }

    /// Writes a 303 with no body (a login's answer) and returns the bytes on the wire.
    static func answer(_ channel: EmbeddedChannel) throws -> String {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .seeOther, headerFields: [.contentLength: "0"])))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        var wire = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = part { wire += String(buffer: buffer) }
        }
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { wire += String(buffer: buffer) }
        return wire.lowercased()
    }

    @Test("HTTP/1.0 without keep-alive and any `close` token reach the router as exactly `Connection: close` and are answered with it; kept-alive requests are left alone",
          arguments: [
              ("POST /login HTTP/1.0\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", true),
              ("POST /login HTTP/1.0\r\nHost: a\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc", true),
              ("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close, TE\r\n\r\n", true),
              ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", false),
              ("GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", false),
          ])
    func persistence(request: String, closes: Bool) throws {
        let (channel, router) = try Self.pipeline()
        try channel.writeInbound(ByteBuffer(string: request))
        #expect(router.heads.count == 1)
        // Hummingbird ends the connection after a request whose Connection field is exactly "close".
        #expect((router.heads.first?.headerFields[.connection] == "close") == closes)
        #expect(try Self.answer(channel).contains("\r\nconnection: close\r\n") == closes)
    }

    @Test("pipelined requests: only the answer to the one that closes says close")
    func pipelined() throws {
        let (channel, router) = try Self.pipeline()
        try channel.writeInbound(ByteBuffer(string: "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
        #expect(router.heads.count == 2)
        #expect(try !Self.answer(channel).contains("connection:"))
        #expect(try Self.answer(channel).contains("\r\nconnection: close\r\n"))
    }
}
