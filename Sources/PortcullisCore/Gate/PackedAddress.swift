/// An IP address in two words, for tables that keep one per entry: no heap, compared in a few
/// instructions. IPv4 is kept in the low 32 bits of ``low``.
public struct PackedAddress: Sendable, Hashable {
    public let high: UInt64
    public let low: UInt64
    public let isIPv4: Bool

    public init(_ address: IPAddress) {
        func word(_ bytes: ArraySlice<UInt8>) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
        isIPv4 = address.isIPv4
        if isIPv4 {
            high = 0
            low = word(address.bytes[...])
        } else {
            high = word(address.bytes[0..<8])
            low = word(address.bytes[8..<16])
        }
    }

    /// The address as ``IPAddress``.
    public var address: IPAddress {
        func bytes(_ word: UInt64, count: Int) -> [UInt8] { (0..<count).reversed().map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
        return IPAddress(bytes: isIPv4 ? bytes(low, count: 4) : bytes(high, count: 8) + bytes(low, count: 8))
    }

    /// Whether `client` counts as this address under `binding` (the same /24 for IPv4 or /64 for
    /// IPv6 with ``IPBinding/prefix``), as ``SessionPolicy/matches(_:_:binding:)`` decides.
    public func matches(_ client: PackedAddress, binding: IPBinding) -> Bool {
        switch binding {
        case .off: return true
        case .exact: return self == client
        case .prefix:
            guard isIPv4 == client.isIPv4 else { return false }
            return isIPv4 ? low >> 8 == client.low >> 8 : high == client.high
        }
    }
}
