import Foundation
import PortcullisTestSupport
import Testing

/// Slow, silent and numerous clients against the real server: deadlines, caps, and the verify
/// handler's answers on a connection shared with the router.
@Suite("connections: deadlines, caps and pipelining", .serialized) struct ConnectionTests {
    static func verifyRequest(method: String = "GET", cookie: String?) -> String {
        "\(method) /api/authz/forward-auth HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: app.localhost\r\n"
            + "X-Forwarded-URI: /dashboard\r\n" + (cookie.map { "Cookie: portcullis_session=\($0)\r\n" } ?? "") + "\r\n"
    }

    static let healthRequest = "GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n"

    @Test("a silent client and one trickling header lines are cut off at server.head_timeout; an idle kept-alive connection at server.idle_timeout")
    func deadlines() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let server = try ServerProcess(harness, environment: ["PORTCULLIS_SERVER_HEAD_TIMEOUT": "2s", "PORTCULLIS_SERVER_IDLE_TIMEOUT": "4s"])
        defer { server.stop() }

        let silent = try RawConnection(port: server.port)
        let trickling = try RawConnection(port: server.port)
        #expect(trickling.send("GET /api/health HTTP/1.1\r\nHost: localhost\r\n"))
        let idle = try RawConnection(port: server.port)
        #expect(idle.send(Self.healthRequest))
        #expect(idle.readResponse()?.status == 200)
        let started = Date()

        // The trickler sends a header line every 0.4 s and never finishes the head.
        var trickleCut: Double?
        while Date().timeIntervalSince(started) < 5, trickleCut == nil {
            if !trickling.send("X-Slow: \(Int(Date().timeIntervalSince(started) * 10))\r\n") || trickling.closedByServer(within: 0.4) {
                trickleCut = Date().timeIntervalSince(started)
            }
        }
        #expect(trickleCut != nil, "a client trickling header lines kept its connection for 5 s")
        #expect((trickleCut ?? 0) >= 1.5, "cut off before the head deadline: \(trickleCut ?? 0) s")
        #expect(silent.closedByServer(within: 3), "a silent client kept its connection past the head deadline")
        // Past the head deadline, the kept-alive connection is still open until the idle deadline.
        #expect(!idle.closedByServer(within: max(0, 3 - Date().timeIntervalSince(started))))
        #expect(idle.closedByServer(within: 3), "an idle kept-alive connection stayed open past server.idle_timeout")

        // A client that finishes its head in time is answered, though it was slow.
        let slow = try RawConnection(port: server.port)
        for line in ["GET /api/health HTTP/1.1\r\n", "Host: localhost\r\n", "\r\n"] {
            #expect(slow.send(line))
            usleep(400_000)
        }
        #expect(slow.readResponse()?.status == 200)
    }

    @Test("a request body trickled (or never sent) past server.head_timeout is cut off; a slow body that arrives in time is answered")
    func bodyDeadline() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let server = try ServerProcess(harness, environment: ["PORTCULLIS_SERVER_HEAD_TIMEOUT": "3s", "PORTCULLIS_SERVER_IDLE_TIMEOUT": "30s"])
        defer { server.stop() }
        let head = "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"

        let trickling = try RawConnection(port: server.port)
        let withholding = try RawConnection(port: server.port)
        #expect(trickling.send(head) && withholding.send(head))
        let started = Date()
        var cut: Double?
        while Date().timeIntervalSince(started) < 7, cut == nil {
            if !trickling.send("a") || trickling.closedByServer(within: 0.4) { cut = Date().timeIntervalSince(started) }
        }
        #expect(cut != nil, "a client trickling its body kept its connection for 7 s")
        #expect((cut ?? 0) >= 2.5, "cut off before the deadline: \(cut ?? 0) s")
        #expect(withholding.closedByServer(within: 2), "a client that never sent its body kept its connection")

        // Slow, but complete within the deadline: answered (403: the form has no CSRF token), and the
        // connection then lives on as an idle kept-alive one.
        let slow = try RawConnection(port: server.port)
        #expect(slow.send("POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n\r\n"))
        for piece in ["user", "=bob"] {
            usleep(500_000)
            #expect(slow.send(piece))
        }
        #expect(slow.readResponse()?.status == 403)
        #expect(!slow.closedByServer(within: 3), "a connection whose request was answered was closed by the body deadline")
    }

    @Test("a request that does not keep the connection alive (HTTP/1.0, Connection: close) is answered with Connection: close, and the connection then ends")
    func connectionClose() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        // The idle deadline is far: a connection that ends within the test was ended by the server after its answer.
        let server = try ServerProcess(harness, environment: ["PORTCULLIS_SERVER_IDLE_TIMEOUT": "60s"])
        defer { server.stop() }
        let form = "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n"
        for request in [
            // An HTTP/1.0 client without keep-alive (curl --http1.0): it waits for the connection to end.
            "GET /api/health HTTP/1.0\r\nHost: localhost\r\n\r\n",
            // nginx's proxy_pass without proxy_http_version 1.1: with `keepalive` in its upstream, it
            // reuses the connection unless the answer says close, and the next request gets a 502.
            "POST /login HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\(form)\r\nuser=bob",
            // The verify endpoint, which the verify handler may answer itself, and `close` in another case.
            Self.verifyRequest(cookie: nil).replacingOccurrences(of: "Host: localhost\r\n", with: "Host: localhost\r\nConnection: Close\r\n"),
        ] {
            let connection = try RawConnection(port: server.port)
            #expect(connection.send(request))
            let response = connection.readResponse()
            #expect(response != nil, "no answer to \(request.prefix(30))")
            #expect(response?.headers["connection"]?.lowercased() == "close", "\(request.prefix(30)): \(response?.headers ?? [:])")
            #expect(connection.closedByServer(within: 3), "the connection stayed open after answering \(request.prefix(30))")
        }
        // Kept alive: HTTP/1.1 by default, HTTP/1.0 when it asks; neither answer says close.
        for request in [Self.healthRequest, "GET /api/health HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"] {
            let connection = try RawConnection(port: server.port)
            for _ in 0..<2 {
                #expect(connection.send(request))
                let response = connection.readResponse()
                #expect(response?.status == 200)
                #expect(response?.headers["connection"] == nil || response?.headers["connection"]?.lowercased() == "keep-alive")
            }
        }
    }

    @Test("connections are capped per client address, trusted proxies exempt, and in all")
    func caps() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let server = try ServerProcess(harness, environment: [
            "PORTCULLIS_SERVER_MAX_CONNECTIONS": "40", "PORTCULLIS_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "8",
            "PORTCULLIS_SERVER_TRUSTED_PROXIES": "127.0.0.1/32, 127.0.0.3/32",
        ])
        defer { server.stop() }

        // Connections are admitted on the event loop that takes them, so which of the ones opened at
        // once is refused is not known: only how many.
        var fromOne: [RawConnection] = []
        for _ in 0..<9 { fromOne.append(try RawConnection(port: server.port, from: "127.0.0.2")) }
        fromOne = Self.keepingOpen(fromOne)
        #expect(fromOne.count == 8, "\(fromOne.count) of 9 connections from one address were kept, the cap is 8")
        // Another address is not affected.
        let other = try RawConnection(port: server.port, from: "127.0.0.4")
        #expect(other.send(Self.healthRequest))
        #expect(other.readResponse()?.status == 200)

        // A trusted proxy holds more than the per-address cap.
        var proxy: [RawConnection] = []
        for _ in 0..<20 { proxy.append(try RawConnection(port: server.port, from: "127.0.0.3")) }
        for connection in proxy {
            #expect(connection.send(Self.healthRequest))
            #expect(connection.readResponse()?.status == 200)
        }

        // 8 + 1 + 20 open: of 12 more, 11 fill the 40 and one is refused.
        var more: [RawConnection] = []
        for index in 0..<12 { more.append(try RawConnection(port: server.port, from: "127.0.0.\(5 + index % 2)")) }
        more = Self.keepingOpen(more)
        #expect(more.count == 11, "\(more.count) of 12 connections were kept with 29 open, the cap is 40")

        // Places come back when connections close.
        fromOne.removeAll()
        usleep(300_000)
        let again = try RawConnection(port: server.port, from: "127.0.0.2")
        #expect(again.send(Self.healthRequest))
        #expect(again.readResponse()?.status == 200)
    }

    /// The connections of `connections` the server has not closed a second later.
    static func keepingOpen(_ connections: [RawConnection]) -> [RawConnection] {
        usleep(1_000_000)
        return connections.filter { !$0.closedByServer(within: 0) }
    }

    @Test("with 2 000 idle connections open, /api/health, the login page and verify still answer")
    func manyIdleConnections() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let alice = try SessionEndingTests.LoggedIn(harness)
        defer { alice.server.stop() }
        let token = try alice.token()

        var idle: [RawConnection] = []
        for index in 0..<2_000 { idle.append(try RawConnection(port: alice.server.port, from: "127.0.1.\(1 + index / 100)")) }
        let client = try RawConnection(port: alice.server.port)
        #expect(client.send(Self.healthRequest))
        #expect(client.readResponse()?.status == 200)
        #expect(client.send(Self.verifyRequest(cookie: token)))
        let verified = client.readResponse()
        #expect(verified?.status == 200)
        #expect(verified?.headers["remote-user"] == "alice")
        #expect(client.send("GET /login HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        #expect(client.readResponse()?.body.contains("name=\"csrf\"") == true)
        #expect(idle.allSatisfy { !$0.closedByServer(within: 0) })
    }

    @Test("pipelined requests are answered in order, whether the verify handler or the router answers them")
    func pipelining() throws {
        let harness = try CLIHarness()
        defer { harness.remove() }
        let alice = try SessionEndingTests.LoggedIn(harness)
        defer { alice.server.stop() }
        let token = try alice.token()

        let connection = try RawConnection(port: alice.server.port)
        // In memory (handler), no session (router), health (router), in memory again (after the router's
        // answers), HEAD, and a forged token (router, from the store).
        let requests = [
            Self.verifyRequest(cookie: token), Self.verifyRequest(cookie: nil), Self.healthRequest, Self.verifyRequest(cookie: token),
            Self.verifyRequest(method: "HEAD", cookie: token), Self.verifyRequest(cookie: String(repeating: "A", count: token.count)),
            Self.verifyRequest(cookie: token),
        ]
        #expect(connection.send(requests.joined()))
        let heads = [false, false, false, false, true, false, false]
        let responses = heads.map { connection.readResponse(headRequest: $0) }
        #expect(responses.map { $0?.status ?? 0 } == [200, 401, 200, 200, 200, 401, 200])
        #expect(responses.map { $0?.headers["remote-user"] } == ["alice", nil, nil, "alice", "alice", nil, "alice"])
        #expect(responses[2]?.body.isEmpty == false, "the health answer came out of order")
        #expect(!connection.closedByServer(within: 0.2))
    }
}
