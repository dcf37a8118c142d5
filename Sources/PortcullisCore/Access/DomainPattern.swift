/// A `domain` of an access rule: an exact name, or `*.example.com` for every name below it (at any
/// depth, not `example.com` itself, as in Authelia). Compared without regard to case or a trailing dot.
public struct DomainPattern: Sendable, Equatable, CustomStringConvertible {
    /// The name, lowercased, without a trailing dot; for a wildcard, the suffix with its leading dot.
    let name: String
    let isWildcard: Bool

    /// Reads a domain of a rule; nil for anything but a host name or `*.` followed by one.
    public init?(_ text: String) {
        var lowered = text.lowercased()
        if lowered.hasSuffix(".") { lowered.removeLast() }
        isWildcard = lowered.hasPrefix("*.")
        if isWildcard { lowered.removeFirst() }
        let labels = (isWildcard ? lowered.dropFirst() : lowered[...]).split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.isEmpty, lowered.utf8.count <= 253,
              labels.allSatisfy({ label in
                  !label.isEmpty && label.utf8.count <= 63
                      && label.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
              })
        else { return nil }
        name = lowered
    }

    /// Whether `host` (lowercased, without a port, as ``OriginalRequest/host``) is this domain.
    public func matches(_ host: String) -> Bool {
        Array(host.utf8).withUnsafeBufferPointer { matches(bytes: $0) }
    }

    /// ``matches(_:)`` on the host's UTF-8.
    func matches(bytes host: UnsafeBufferPointer<UInt8>) -> Bool {
        name.utf8.withContiguousStorageIfAvailable { name in
            var length = host.count
            if length > 0, host[length - 1] == UInt8(ascii: ".") { length -= 1 }
            if isWildcard {
                return length > name.count && Self.equal(host, from: length - name.count, name)
            }
            return length == name.count && Self.equal(host, from: 0, name)
        } ?? false
    }

    /// Whether `bytes` hold `other` at `offset`.
    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, from offset: Int, _ other: UnsafeBufferPointer<UInt8>) -> Bool {
        for index in 0..<other.count where bytes[offset + index] != other[index] { return false }
        return true
    }

    public var description: String { isWildcard ? "*" + name : name }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
