import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import PortcullisCore
import PortcullisStore
@testable import PortcullisServer
import Testing

/// The verify handler on its own, in an embedded channel: which requests it answers itself (a
/// valid session in memory), which it passes on to the router, and that pipelined answers keep
/// their order.
@Suite("the verify channel handler") struct VerifyChannelHandlerTests {
    /// What reached the router: the handler's inbound output.
    final class Router: ChannelInboundHandler {
        typealias InboundIn = HTTPRequestPart
        var heads: [String] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let request) = unwrapInboundIn(data) { heads.append(request.headerFields[.cookie] ?? "no cookie") }
        }
    }

    static func request(method: HTTPRequest.Method = .get, cookie: String?, uri: String = "/", extra: HTTPFields = [:]) -> HTTPRequestPart {
        var fields: HTTPFields = [HeaderNames.forwardedProto: "https", HeaderNames.forwardedHost: "app.example.com", HeaderNames.forwardedURI: uri]
        if let cookie { fields[.cookie] = "portcullis_session=\(cookie)" }
        fields.append(contentsOf: extra)
        return .head(HTTPRequest(method: method, scheme: nil, authority: "auth", path: "/api/authz/forward-auth", headerFields: fields))
    }

    /// The statuses and users of the responses written so far.
    static func answers(_ channel: EmbeddedChannel) throws -> [String] {
        var answers: [String] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            if case .head(let response) = part { answers.append("\(response.status.code) \(response.headerFields[HeaderNames.remoteUser] ?? "-")") }
        }
        return answers
    }

    @Test("a valid session in memory is answered by the handler; anything else goes on, and after it, in order")
    func answersAndPassesOn() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice", password: nil, otp: false)
        let seeded = try await SessionCacheTests.seedSessions(harness, count: 2, users: [alice])
        let server = try await harness.server()
        try await server.gate.load(seeded[0].0)
        let known = seeded[0].0.cookieValue
        let notInMemory = seeded[1].0.cookieValue

        let router = Router()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([VerifyChannelHandler(gate: server.gate, basic: server.basic), router])

        // Answered here, GET and HEAD: the router sees nothing.
        try channel.writeInbound(Self.request(cookie: known))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeInbound(Self.request(method: .head, cookie: known))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.answers(channel) == ["200 alice", "200 alice"])
        #expect(router.heads.isEmpty)

        // Not in memory, no session, a client asking to close, a POST: all for the router.
        for request in [Self.request(cookie: notInMemory), Self.request(cookie: nil), Self.request(cookie: known, extra: [.connection: "close"]),
                        Self.request(method: .post, cookie: known)] {
            try channel.writeInbound(request)
            try channel.writeInbound(HTTPRequestPart.end(nil))
        }
        // A known session pipelined behind them waits its turn: it goes to the router too.
        try channel.writeInbound(Self.request(cookie: known))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.answers(channel).isEmpty)
        #expect(router.heads.count == 5)

        // Once the router's five answers are out, the handler answers again.
        for _ in 0..<5 {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .unauthorized)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }
        #expect(try Self.answers(channel) == Array(repeating: "401 -", count: 5))
        try channel.writeInbound(Self.request(cookie: known))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.answers(channel) == ["200 alice"])
        #expect(router.heads.count == 5)
        _ = try channel.finish()
    }

    @Test("lingering Basic credentials are answered by the handler; unknown, expired or forgotten ones go on to the router")
    func lingeringBasic() async throws {
        let harness = try await GateHarness.make()
        defer { Task { await harness.close() } }
        let alice = try await harness.addUser("alice")
        let server = try await harness.server()
        let router = Router()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([VerifyChannelHandler(gate: server.gate, basic: server.basic), router])
        func send(_ authorization: String, from address: String = "203.0.113.7") throws -> [String] {
            try channel.writeInbound(Self.request(cookie: nil, extra: [.authorization: authorization, HeaderNames.forwardedFor: address]))
            try channel.writeInbound(HTTPRequestPart.end(nil))
            return try Self.answers(channel)
        }
        let authorization = "Basic " + Base64.encode(Array("alice:correct horse123456".utf8))
        let client = server.gate.resolver.resolve(peer: GateContext.loopback, forwardedFor: "203.0.113.7")
        let identity = Identity(user: "alice", groups: ["admins", "dev"], name: "", email: "")

        // Not accepted yet: the router checks it.
        #expect(try send(authorization).isEmpty)
        #expect(router.heads.count == 1)
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .unauthorized)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(try Self.answers(channel) == ["401 -"])

        // Accepted (as the router does after a check): answered here, from that address only.
        server.basic.cache.insert(try #require(server.basic.cache.key(forHeader: authorization, client: client)), identity: identity, level: .passwordAndCode, userID: alice.id,
                                  appPasswordID: nil, acceptedAt: harness.clock.now, lastUsed: harness.clock.now,
                                  readSince: server.basic.cache.generation)
        #expect(try send(authorization) == ["200 alice"])
        #expect(try send("Basic " + Base64.encode(Array("alice:correct horse654321".utf8))).isEmpty, "another password")
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .unauthorized)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(try Self.answers(channel) == ["401 -"])
        #expect(try send(authorization, from: "198.51.100.9").isEmpty, "another address")
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .unauthorized)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(try Self.answers(channel) == ["401 -"])
        #expect(router.heads.count == 3)

        // A change of the user forgets it; so does the end of the linger time.
        server.basic.cache.removeAll(ofUser: alice.id)
        #expect(try send(authorization).isEmpty)
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .unauthorized)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        _ = try Self.answers(channel)
        server.basic.cache.insert(try #require(server.basic.cache.key(forHeader: authorization, client: client)), identity: identity, level: .passwordAndCode, userID: alice.id,
                                  appPasswordID: nil, acceptedAt: harness.clock.now, lastUsed: harness.clock.now,
                                  readSince: server.basic.cache.generation)
        #expect(try send(authorization) == ["200 alice"])
        harness.clock.advance(server.basic.settings.linger)
        #expect(try send(authorization).isEmpty)
        #expect(router.heads.count == 5)
        _ = try channel.finish()
    }

    @Test("a bypassed path is answered by the handler without identity; a denied one goes to the router, which writes the page")
    func accessRules() async throws {
        var configuration = GateHarness.exampleConfiguration()
        configuration.accessRules = [
            try AccessRule(domains: [DomainPattern("app.example.com")!], resources: [ResourcePattern("^/health$")], policy: .bypass),
            try AccessRule(domains: [DomainPattern("app.example.com")!], resources: [ResourcePattern("^/admin")], policy: .deny),
        ]
        let harness = try await GateHarness.make(configuration)
        defer { Task { await harness.close() } }
        let server = try await harness.server()
        let router = Router()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([VerifyChannelHandler(gate: server.gate, basic: server.basic), router])
        func send(_ uri: String) throws -> [String] {
            try channel.writeInbound(Self.request(cookie: nil, uri: uri))
            try channel.writeInbound(HTTPRequestPart.end(nil))
            return try Self.answers(channel)
        }
        // Identity headers present and empty ("200 " + the empty Remote-User).
        #expect(try send("/health") == ["200 "])
        #expect(try send("/%68ealth") == ["200 "])
        #expect(router.heads.isEmpty)
        #expect(try send("/admin").isEmpty)
        #expect(router.heads.count == 1)
        _ = try channel.finish()
    }

    @Test("the headers verify reads, in one pass, are what HTTPFields' own lookups give, duplicates joined")
    func headersInOnePass() {
        let names: [HTTPField.Name] = [.cookie, HeaderNames.forwardedProto, HeaderNames.forwardedHost, HeaderNames.forwardedURI,
                                       HeaderNames.forwardedMethod, HeaderNames.forwardedFor, HeaderNames.originalURL,
                                       HeaderNames.originalMethod, .accept, HeaderNames.requestedWith, .userAgent, .connection, .authorization]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<2_000 {
            var fields = HTTPFields()
            for index in 0..<(round % 12) {
                fields.append(HTTPField(name: names.randomElement(using: &generator)!, value: "v\(index)"))
            }
            let read = VerifyHeaders(fields)
            #expect(read.cookie == fields[.cookie])
            #expect(read.forwardedFor == fields[HeaderNames.forwardedFor])
            #expect(read.authorization == fields[.authorization])
            #expect(read.hasConnection == (fields[.connection] != nil))
            #expect(read.request.forwardedProto == fields[HeaderNames.forwardedProto])
            #expect(read.request.forwardedHost == fields[HeaderNames.forwardedHost])
            #expect(read.request.forwardedURI == fields[HeaderNames.forwardedURI])
            #expect(read.request.forwardedMethod == fields[HeaderNames.forwardedMethod])
            #expect(read.request.originalURL == fields[HeaderNames.originalURL])
            #expect(read.request.originalMethod == fields[HeaderNames.originalMethod])
            #expect(read.request.accept == fields[.accept])
            #expect(read.request.requestedWith == fields[HeaderNames.requestedWith])
        }
    }
}
