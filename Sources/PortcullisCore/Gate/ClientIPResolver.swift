/// Finds the client's address: the TCP peer, unless the peer is a trusted proxy; then the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy. Forwarded headers from anyone
/// else are ignored, so a client cannot choose its own address.
///
/// ```swift
/// let resolver = ClientIPResolver(trustedProxies: [CIDR("10.0.0.0/8")!])
/// resolver.resolve(peer: IPAddress("10.0.0.2")!, forwardedFor: "198.51.100.7, 203.0.113.9")  // 203.0.113.9
/// ```
public struct ClientIPResolver: Sendable {
    public let trustedProxies: [CIDR]
    /// Entries of `X-Forwarded-For` read at most, from the right.
    public static let maximumHops = 32

    public init(trustedProxies: [CIDR]) {
        self.trustedProxies = trustedProxies
    }

    public func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    public func resolve(peer: IPAddress, forwardedFor: String?) -> IPAddress {
        guard isTrusted(peer), let forwardedFor else { return peer }
        var client = peer
        for entry in forwardedFor.split(separator: ",").reversed().prefix(Self.maximumHops) {
            // An entry we cannot read ends the chain: everything left of it is the client's own say-so.
            guard let address = IPAddress(entry.trimmingASCIIWhitespace()) else { return client }
            client = address
            if !isTrusted(address) { return address }
        }
        return client
    }
}
