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
    /// The pattern as written.
    public let source: String
    private let program: PatternProgram
    /// Text every match starts with, when the pattern begins with `^` and literal text: a request
    /// without it is refused with one comparison, before the automaton runs.
    private let requiredPrefix: String
    /// The pattern is `^literal$`: a match is equality.
    private let isExact: Bool

    /// Compiles `source`. Throws ``CoreError/Code/invalidAccessRule`` naming the unsupported part.
    public init(_ source: String) throws(CoreError) {
        let node = try PatternParser.parse(source)
        self.source = source
        self.program = try PatternProgram(node)
        (requiredPrefix, isExact) = Self.literalPrefix(of: node)
    }

    /// Whether the pattern matches anywhere in `text`.
    public func matches(_ text: String) -> Bool {
        if isExact { return text.utf8.elementsEqual(requiredPrefix.utf8) }
        if !requiredPrefix.isEmpty, !text.utf8.starts(with: requiredPrefix.utf8) { return false }
        return program.matches(text)
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
