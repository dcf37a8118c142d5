/// The path and query of an original URL, as access rules see them.
///
/// The path is read the way the app behind the proxy will read it, so that a rule protecting
/// `/admin` holds however the path is spelled: percent-escapes are decoded (`/%61dmin` is `/admin`,
/// `%2F` is `/`), `.` and `..` segments are resolved and repeated slashes collapse (`/./admin`,
/// `//admin`, `/x/../admin` are `/admin`); a trailing slash is kept. The query follows after `?`
/// as sent (not decoded), as Authelia matches it. Case is kept: paths are case-sensitive.
public enum AccessTarget {
    /// The path and query of an absolute URL (`https://host/path?query`); `/` when it has no path.
    public static func pathAndQuery(ofURL url: String) -> String {
        pathAndQuery(ofTarget: target(ofURL: url))
    }

    /// The request target of an absolute URL: after "scheme://", from the first '/', '?' or '#'
    /// that ends the authority; empty when there is none.
    private static func target(ofURL url: String) -> Substring.UTF8View.SubSequence {
        let bytes = Substring(url).utf8
        var start = bytes.startIndex
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[colon...].starts(with: "://".utf8) {
            start = bytes.index(colon, offsetBy: 3)
        }
        let pathStart = bytes[start...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.endIndex
        return bytes[pathStart...]
    }

    /// The normalised form of a request target (`/path?query#fragment`; the fragment is dropped).
    public static func pathAndQuery(ofTarget target: Substring.UTF8View.SubSequence) -> String {
        var target = target
        if let hash = target.firstIndex(of: UInt8(ascii: "#")) { target = target[..<hash] }
        let question = target.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = target[..<(question ?? target.endIndex)]
        // The common case, a path already in normal form, is taken as it is: one string, no copies.
        if isNormal(rawPath) {
            let end = question.flatMap { target.index(after: $0) == target.endIndex ? $0 : nil } ?? target.endIndex
            return String(Substring(target[..<end]))
        }
        var result = normalisedPath(percentDecoded(rawPath))
        if let question, target.index(after: question) != target.endIndex {
            result += "?" + String(decoding: target[target.index(after: question)...], as: UTF8.self)
        }
        return result
    }

    /// Why the rules cannot decide on this URL's path, or nil when they can. Apps read paths in
    /// different ways, so a path whose meaning depends on the reader is refused rather than guessed:
    /// a `.` or `..` segment (browsers resolve them before sending; `%2e` and `%2F` spellings too,
    /// once decoded), a control character once decoded (`%0A` would hide from `.*`), or a raw `#`.
    public static func refusal(ofURL url: String) -> String? {
        let target = target(ofURL: url)
        if target.contains(UInt8(ascii: "#")) { return "The path holds a '#', which no browser sends." }
        let rawPath = target.prefix { $0 != UInt8(ascii: "?") }
        if isNormal(rawPath) { return nil }
        let decoded = percentDecoded(rawPath)
        if decoded.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "The path holds a control character." }
        let slash = UInt8(ascii: "/")
        for segment in decoded.split(separator: slash, omittingEmptySubsequences: true)
        where segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) {
            return "The path holds a '.' or '..' segment, which apps resolve in different ways."
        }
        return nil
    }

    /// Whether a raw path is already what ``normalisedPath(_:)`` of its decoding gives: it starts
    /// with `/`, has no `%`, no empty segment (but a trailing slash) and no `.` or `..` segment.
    static func isNormal(_ path: Substring.UTF8View.SubSequence) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: "."), percent = UInt8(ascii: "%")
        guard path.first == slash else { return false }
        // The length of the current segment, and how many of its bytes are dots (-1: not all).
        var length = 0
        var dots = 0
        var index = path.index(after: path.startIndex)
        while index != path.endIndex {
            let byte = path[index]
            if byte == percent { return false }
            if byte == slash {
                // An empty segment ("//") or a dot segment ("/./", "/../") before this slash.
                if length == 0 || (dots == length && length <= 2) { return false }
                length = 0
                dots = 0
            } else {
                length += 1
                if byte == dot { dots += dots == length - 1 ? 1 : 0 }
            }
            path.formIndex(after: &index)
        }
        // The last segment: "/." or "/.." at the end resolve; "/" at the end stays (but "//" did not).
        return !(length > 0 && dots == length && length <= 2)
    }

    /// Decodes every `%XX`; a `%` not followed by two hex digits stays as it is.
    public static func percentDecoded(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count, let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(input[index])
                index += 1
            }
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Resolves `.` and `..`, collapses repeated slashes, keeps a trailing slash; always starts with `/`.
    public static func normalisedPath(_ path: [UInt8]) -> String {
        var segments: [ArraySlice<UInt8>] = []
        for segment in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if segment.elementsEqual(".".utf8) { continue }
            if segment.elementsEqual("..".utf8) {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        var output: [UInt8] = [UInt8(ascii: "/")]
        for (index, segment) in segments.enumerated() {
            if index > 0 { output.append(UInt8(ascii: "/")) }
            output += segment
        }
        if path.last == UInt8(ascii: "/"), !segments.isEmpty { output.append(UInt8(ascii: "/")) }
        return String(decoding: output, as: UTF8.self)
    }
}
