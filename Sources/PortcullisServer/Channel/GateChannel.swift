import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import PortcullisCore

/// Hummingbird's HTTP/1 channel with the gate's own handlers around it: the connection limits and
/// deadlines in front of the HTTP parser, and the verify handler between the parser and the router.
struct GateChannel: HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    /// What the verify handler answers from; nil for a listener without verify endpoints (metrics).
    let verify: (gate: Gate, basic: BasicSupport)?
    let limits: ConnectionLimits
    let headTimeout: TimeAmount
    let idleTimeout: TimeAmount

    /// The server builder for ``Application``; without `gate`, no verify handler.
    static func builder(gate: Gate?, basic: BasicSupport?, limits: ConnectionLimits, headTimeout: TimeAmount, idleTimeout: TimeAmount) -> HTTPServerBuilder {
        let verify = gate.flatMap { gate in basic.map { (gate, $0) } }
        return HTTPServerBuilder { responder in
            GateChannel(responder: responder, verify: verify, limits: limits, headTimeout: headTimeout, idleTimeout: idleTimeout)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let peer = channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) } ?? GateContext.loopback
        guard limits.admit(peer) else {
            logger.debug("connection refused: too many open", metadata: ["peer": "\(peer)"])
            return channel.close().flatMapThrowing { throw ChannelError.ioOnClosedChannel }
        }
        channel.closeFuture.whenComplete { [limits] _ in limits.release(peer) }
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionDeadlines(headTimeout: headTimeout, idleTimeout: idleTimeout), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let http1 = HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: Self.handlers(verify)))
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            // Behind the parser, while the HTTP version is known: which requests end the connection.
            try HTTP1Persistence.add(to: channel.pipeline.syncOperations)
            return value
        }
    }

    /// Between the parser and the router: the verify handler, or on a listener without verify
    /// endpoints, what tells the deadlines where requests begin and end.
    private static func handlers(_ verify: (gate: Gate, basic: BasicSupport)?) -> [any RemovableChannelHandler] {
        verify.map { [VerifyChannelHandler(gate: $0.gate, basic: $0.basic)] } ?? [RequestDeadlineTracker()]
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
