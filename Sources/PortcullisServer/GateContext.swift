public import Hummingbird
import NIOCore
public import PortcullisCore

/// The request context of every Portcullis route: Hummingbird's core storage and the TCP peer.
public struct GateContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer's address; nil for a peer without one (a Unix socket, the test router), which is
    /// treated as loopback.
    public let peer: IPAddress?

    /// Form bodies are small; anything larger is refused before it is read.
    public var maxUploadSize: Int { 16 * 1024 }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
    }

    /// The peer, with loopback standing in for a peer that has no IP address.
    public var peerAddress: IPAddress { peer ?? GateContext.loopback }

    static let loopback = IPAddress("127.0.0.1")!
}
