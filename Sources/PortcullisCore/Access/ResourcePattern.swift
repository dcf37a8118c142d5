/// A regular expression of the subset Authelia's `resources` rules use, compiled once at load.
///
/// Supported, with Go's (RE2's) meaning: literal text, `.`, anchors `^` `$` (`\A` `\z`), character
/// classes (`[a-z0-9_-]`, `[^/]`, `\d` `\w` `\s` and their negations), groups `(…)`, `(?:…)`,
/// `(?P<name>…)`, alternation `|`, and repetition `*` `+` `?` `{n}` `{n,}` `{n,m}` (lazy forms too).
/// Anything else — flags such as `(?i)`, `\b`, `\pL`, POSIX classes, the `User` and `Group` named
/// groups — is refused with a message that names it. Matching is a search, as Go's `MatchString`:
/// `/api` matches `/v1/api/x`; anchor with `^` and `$`.
///
/// ```swift
/// let api = try ResourcePattern("^/api([/?].*)?$")
/// api.matches("/api/users?page=2")   // true
/// api.matches("/apifoo")             // false
/// ```
public struct ResourcePattern: Sendable, Equatable, CustomStringConvertible {
    /// What is compiled, in one object, so that a copy of a pattern is one retain.
    final class Compiled: Sendable {
        let source: String
        let program: PatternProgram
        /// Text every match starts with, when the pattern begins with `^` and literal text: a
        /// request without it is refused with one comparison, before the automaton runs.
        let requiredPrefix: [UInt8]
        /// The pattern is `^literal$`: a match is equality.
        let isExact: Bool
        /// The longest run of literal text at the pattern's top level (outside groups and
        /// repetitions): every match contains it, so a text without it is refused by one search.
        let requiredText: [UInt8]

        init(source: String, program: PatternProgram, requiredPrefix: [UInt8], isExact: Bool, requiredText: [UInt8]) {
            self.source = source
            self.program = program
            self.requiredPrefix = requiredPrefix
            self.isExact = isExact
            self.requiredText = requiredText
        }
    }

    let compiled: Compiled

    /// The pattern as written.
    public var source: String { compiled.source }

    /// Compiles `source`. Throws ``CoreError/Code/invalidAccessRule`` naming the unsupported part.
    public init(_ source: String) throws(CoreError) {
        let node = try PatternParser.parse(source)
        let (prefix, isExact) = Self.literalPrefix(of: node)
        compiled = Compiled(source: source, program: try PatternProgram(node), requiredPrefix: Array(prefix.utf8), isExact: isExact,
                            requiredText: Self.longestLiteral(in: node))
    }

    /// Whether the pattern matches anywhere in `text`.
    public func matches(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBufferPointer { matches(text, bytes: $0) }
    }

    /// ``matches(_:)`` with the text's UTF-8 at hand: the quick checks read the bytes, and only
    /// what they cannot decide runs the automaton.
    func matches(_ text: String, bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if compiled.isExact { return bytes.elementsEqual(compiled.requiredPrefix) }
        if bytes.count < compiled.requiredPrefix.count || !bytes.starts(with: compiled.requiredPrefix) { return false }
        if compiled.requiredText.count > compiled.requiredPrefix.count, !Self.contains(bytes, compiled.requiredText) { return false }
        return compiled.program.matches(text)
    }

    /// Whether `needle` occurs in `haystack`.
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
        var start = 0
        let last = haystack.count - needle.count
        while start <= last {
            if haystack[start] == first {
                var offset = 1
                while offset < needle.count, haystack[start + offset] == needle[offset] { offset += 1 }
                if offset == needle.count { return true }
            }
            start += 1
        }
        return false
    }

    /// The longest run of scalars directly in the top-level concatenation, as UTF-8.
    private static func longestLiteral(in node: PatternNode) -> [UInt8] {
        let items: [PatternNode]
        switch node {
        case .concatenation(let list): items = list
        case .scalar: items = [node]
        default: return []
        }
        var longest: [UInt8] = []
        var run: [UInt8] = []
        for item in items + [.empty] {
            if case .scalar(let scalar) = item {
                run += Array(String(scalar).utf8)
            } else {
                if run.count > longest.count { longest = run }
                run = []
            }
        }
        return longest
    }

    public var description: String { source }

    /// Patterns are equal when written alike (the program is compiled from the text).
    public static func == (lhs: ResourcePattern, rhs: ResourcePattern) -> Bool { lhs.source == rhs.source }

    /// The literal text after a leading `^`, and whether the pattern is exactly `^text$`.
    private static func literalPrefix(of node: PatternNode) -> (String, Bool) {
        guard case .concatenation(let items) = node, case .start = items.first else { return ("", false) }
        var prefix = ""
        for (offset, item) in items.dropFirst().enumerated() {
            switch item {
            case .scalar(let scalar):
                prefix.unicodeScalars.append(scalar)
            case .end where offset == items.count - 2:
                return (prefix, true)
            default:
                return (prefix, false)
            }
        }
        return (prefix, false)
    }
}
