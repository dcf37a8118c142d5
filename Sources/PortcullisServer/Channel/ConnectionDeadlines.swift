import NIOCore

/// Closes connections whose clients are too slow or silent: the first handler of every connection,
/// it sees the raw bytes arrive.
///
/// - A request head must be complete within `headTimeout` of its first byte (of connecting, for the
///   first request): a client trickling header lines is cut off.
/// - Its body must then be complete within `headTimeout` of the head: a client that announces a body
///   and trickles it (or never sends it) is cut off too, and cannot hold a stopping server.
/// - A kept-alive connection may wait `idleTimeout` for its next request.
///
/// The verify handler tells it when a head was decoded and when a response ended. Deadlines are
/// timestamps checked once a second, so a request costs no timer of its own.
final class ConnectionDeadlines: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State {
        /// Between requests: the next may start until the deadline.
        case idle
        /// Bytes of a head arrived; the head must be complete by the deadline.
        case readingHead
        /// Heads decoded whose responses have not ended; while a body is arriving, it must be
        /// complete by the deadline, and once it is, there is no deadline (the server is answering).
        case inRequest(open: Int, readingBody: Bool)
    }

    let headTimeout: TimeAmount
    let idleTimeout: TimeAmount
    private var state = State.readingHead
    private var deadline: NIODeadline
    private var check: RepeatedTask?

    init(headTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.idleTimeout = idleTimeout
        deadline = .now() + headTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline = .now() + headTimeout
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            this.value.checkDeadline(context: bound.value)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .idle = state {
            state = .readingHead
            deadline = .now() + headTimeout
        }
        context.fireChannelRead(data)
    }

    /// A request head was decoded: its body is awaited.
    func headReceived() {
        switch state {
        case .idle, .readingHead: state = .inRequest(open: 1, readingBody: true)
        case .inRequest(let open, _): state = .inRequest(open: open + 1, readingBody: true)
        }
        deadline = .now() + headTimeout
    }

    /// A request's body (possibly empty) has fully arrived.
    func requestEnded() {
        guard case .inRequest(let open, true) = state else { return }
        if open > 0 {
            state = .inRequest(open: open, readingBody: false)
        } else {
            // Its answer was written already (the verify handler answers on the head).
            state = .idle
            deadline = .now() + idleTimeout
        }
    }

    /// A response ended.
    func responseEnded() {
        guard case .inRequest(let open, let readingBody) = state else { return }
        if open > 1 {
            state = .inRequest(open: open - 1, readingBody: readingBody)
        } else if readingBody {
            // Answered before its body arrived (a refusal): the body must still come in time.
            state = .inRequest(open: 0, readingBody: true)
        } else {
            state = .idle
            deadline = .now() + idleTimeout
        }
    }

    private func checkDeadline(context: ChannelHandlerContext) {
        if case .inRequest(_, false) = state { return }
        guard NIODeadline.now() >= deadline else { return }
        check?.cancel()
        check = nil
        context.close(promise: nil)
    }
}
