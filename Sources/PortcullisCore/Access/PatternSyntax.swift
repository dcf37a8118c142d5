/// A parsed resource pattern: the subset of Go's regular expressions (RE2) that Authelia rules use.
indirect enum PatternNode: Equatable {
    case empty
    case scalar(Unicode.Scalar)
    case set(ScalarSet)
    /// `^` or `\A`: the start of the text.
    case start
    /// `$` or `\z`: the end of the text (Go's `$` without the `m` flag).
    case end
    case concatenation([PatternNode])
    case alternation([PatternNode])
    /// `x*`, `x+`, `x?`, `x{n}`, `x{n,}`, `x{n,m}`; `max` nil means unbounded.
    case repetition(PatternNode, min: Int, max: Int?)
}

/// A set of Unicode scalars: ASCII as a bit map, others as ranges, possibly negated.
struct ScalarSet: Equatable, Sendable {
    var lowBits: UInt64 = 0
    var highBits: UInt64 = 0
    var ranges: [ClosedRange<UInt32>] = []
    var negated = false

    mutating func insert(_ range: ClosedRange<UInt32>) {
        if range.lowerBound < 128 {
            for value in range.lowerBound...min(range.upperBound, 127) {
                if value < 64 { lowBits |= 1 << value } else { highBits |= 1 << (value - 64) }
            }
        }
        if range.upperBound >= 128 { ranges.append(max(128, range.lowerBound)...range.upperBound) }
    }

    mutating func insert(_ other: ScalarSet) {
        lowBits |= other.lowBits
        highBits |= other.highBits
        ranges += other.ranges
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        let inside: Bool
        if value < 64 {
            inside = lowBits >> value & 1 == 1
        } else if value < 128 {
            inside = highBits >> (value - 64) & 1 == 1
        } else {
            inside = ranges.contains { $0.contains(value) }
        }
        return inside != negated
    }

    static func of(_ ranges: ClosedRange<UInt32>...) -> ScalarSet {
        var set = ScalarSet()
        for range in ranges { set.insert(range) }
        return set
    }

    static let digits = of(48...57)
    static let word = of(48...57, 65...90, 95...95, 97...122)
    static let space = of(9...10, 12...13, 32...32)
    /// `.`: anything but a newline.
    static let anyButNewline: ScalarSet = {
        var set = of(10...10)
        set.negated = true
        return set
    }()
}

/// Reads a pattern into a ``PatternNode``, refusing what is outside the subset with a message that
/// names the part and says what to write instead.
struct PatternParser {
    /// The longest pattern read, in bytes.
    static let maximumLength = 1024
    /// Groups nested deeper than this are refused.
    static let maximumDepth = 32
    /// The largest count in `{n,m}` (Go's own limit).
    static let maximumCount = 1000

    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var depth = 0

    static func parse(_ pattern: String) throws(CoreError) -> PatternNode {
        guard pattern.utf8.count <= maximumLength else {
            throw CoreError(.invalidAccessRule, "is longer than \(maximumLength) bytes")
        }
        var parser = PatternParser(scalars: Array(pattern.unicodeScalars))
        let node = try parser.alternation()
        if parser.position < parser.scalars.count {
            // Only an unmatched ')' stops the top level early.
            throw parser.error("has a ')' that closes no group")
        }
        return node
    }

    private init(scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    private var next: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private func error(_ message: String) -> CoreError {
        CoreError(.invalidAccessRule, message + " (at character \(position + 1))")
    }

    private mutating func alternation() throws(CoreError) -> PatternNode {
        var branches = [try concatenation()]
        while next == "|" {
            position += 1
            branches.append(try concatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func concatenation() throws(CoreError) -> PatternNode {
        var items: [PatternNode] = []
        while let scalar = next, scalar != "|", scalar != ")" {
            var item = try atom()
            if let (min, max) = try quantifier() {
                if case .start = item { throw error("repeats '^', which matches no text") }
                if case .end = item { throw error("repeats '$', which matches no text") }
                item = .repetition(item, min: min, max: max)
                if try quantifier() != nil { throw error("repeats a repetition (as in 'a**'); Go refuses it too") }
            }
            items.append(item)
        }
        switch items.count {
        case 0: return .empty
        case 1: return items[0]
        default: return .concatenation(items)
        }
    }

    /// `*`, `+`, `?` or `{n}`, `{n,}`, `{n,m}` with an optional lazy `?` (which changes nothing for
    /// a yes-or-no match); nil when none follows.
    private mutating func quantifier() throws(CoreError) -> (Int, Int?)? {
        let bounds: (Int, Int?)
        switch next {
        case "*": bounds = (0, nil); position += 1
        case "+": bounds = (1, nil); position += 1
        case "?": bounds = (0, 1); position += 1
        case "{":
            guard let counted = countedRepetition() else { return nil }
            guard counted.0 <= Self.maximumCount, (counted.1 ?? 0) <= Self.maximumCount else {
                throw error("repeats more than \(Self.maximumCount) times")
            }
            if let high = counted.1, high < counted.0 { throw error("has a repetition '{n,m}' with m below n") }
            bounds = counted
        default: return nil
        }
        if next == "?" { position += 1 }
        return bounds
    }

    /// `{n}`, `{n,}` or `{n,m}`; nil (and nothing read) when the text is not one, as Go then reads
    /// the `{` as a literal.
    private mutating func countedRepetition() -> (Int, Int?)? {
        var index = position + 1
        func number() -> Int? {
            var value = 0
            var digits = 0
            while index < scalars.count, ("0"..."9").contains(scalars[index]) {
                value = min(value * 10 + Int(scalars[index].value - 48), 100_000)
                digits += 1
                index += 1
            }
            return digits > 0 ? value : nil
        }
        guard let low = number() else { return nil }
        var high: Int? = low
        if index < scalars.count, scalars[index] == "," {
            index += 1
            high = number()
        }
        guard index < scalars.count, scalars[index] == "}" else { return nil }
        position = index + 1
        return (low, high)
    }

    private mutating func atom() throws(CoreError) -> PatternNode {
        guard let scalar = next else { throw error("ends too early") }
        position += 1
        switch scalar {
        case "(": return try group()
        case "[": return .set(try characterClass())
        case ".": return .set(.anyButNewline)
        case "^": return .start
        case "$": return .end
        case "\\": return try escape(inClass: false)
        case "*", "+", "?": throw error("has '\(scalar)' with nothing before it to repeat")
        default: return .scalar(scalar)
        }
    }

    private mutating func group() throws(CoreError) -> PatternNode {
        guard depth < Self.maximumDepth else { throw error("nests groups deeper than \(Self.maximumDepth)") }
        if next == "?" {
            position += 1
            if next == ":" {
                position += 1
            } else if next == "P" || next == "<" {
                if next == "P" { position += 1 }
                guard next == "<" else { throw error("has '(?P' not followed by a group name in '<…>'") }
                position += 1
                var name = ""
                while let scalar = next, scalar != ">" {
                    guard scalar.properties.isAlphabetic || scalar == "_" || ("0"..."9").contains(scalar) else {
                        throw error("has a group name with '\(scalar)'; names are letters, digits and '_'")
                    }
                    name.unicodeScalars.append(scalar)
                    position += 1
                }
                guard next == ">", !name.isEmpty else { throw error("has an unfinished group name") }
                position += 1
                if name == "User" || name == "Group" {
                    throw error("names a group '\(name)', which Authelia matches against the user; Portcullis does not: use 'subject: [\"\(name.lowercased()):NAME\"]' in the rule")
                }
            } else {
                throw error("has flags or a construct '(?…' that is not supported; case-insensitive matching '(?i)' is not: list both cases, as in '[Aa]pi'")
            }
        }
        depth += 1
        let inner = try alternation()
        depth -= 1
        guard next == ")" else { throw error("has a '(' that is never closed") }
        position += 1
        return inner
    }

    private mutating func characterClass() throws(CoreError) -> ScalarSet {
        var set = ScalarSet()
        if next == "^" {
            set.negated = true
            position += 1
        }
        var first = true
        while true {
            guard let scalar = next else { throw error("has a '[' that is never closed") }
            if scalar == "]" && !first { break }
            first = false
            position += 1
            if scalar == "[" && next == ":" {
                throw error("has a POSIX class '[:…:]'; write the characters, as in '[a-z]'")
            }
            var low: UInt32
            if scalar == "\\" {
                switch try escape(inClass: true) {
                case .scalar(let escaped): low = escaped.value
                case .set(let named):
                    set.insert(named)
                    continue
                default: throw error("has an escape that is not allowed in '[…]'")
                }
            } else {
                low = scalar.value
            }
            if next == "-", position + 1 < scalars.count, scalars[position + 1] != "]" {
                position += 1
                guard var high = next?.value else { throw error("has a '[' that is never closed") }
                position += 1
                if high == 0x5C {  // a backslash
                    guard case .scalar(let escaped) = try escape(inClass: true) else { throw error("ends a range in '[…]' with a class") }
                    high = escaped.value
                }
                guard low <= high else { throw error("has a range in '[…]' that runs backwards") }
                set.insert(low...high)
            } else {
                set.insert(low...low)
            }
        }
        position += 1
        return set
    }

    /// What follows a backslash: an escaped punctuation character, `\t` `\n` `\r` `\f` `\v`,
    /// `\d` `\w` `\s` and (outside classes) their negations, `\A` and `\z`.
    private mutating func escape(inClass: Bool) throws(CoreError) -> PatternNode {
        guard let scalar = next else { throw error("ends with a lone '\\'") }
        position += 1
        switch scalar {
        case "d": return .set(.digits)
        case "w": return .set(.word)
        case "s": return .set(.space)
        case "D", "W", "S":
            guard !inClass else { throw error("has '\\\(scalar)' inside '[…]'; write the class outside it, as in '(\\\(scalar)|x)'") }
            var set = scalar == "D" ? ScalarSet.digits : scalar == "W" ? .word : .space
            set.negated = true
            return .set(set)
        case "t": return .scalar("\t")
        case "n": return .scalar("\n")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "v": return .scalar("\u{0B}")
        case "A" where !inClass: return .start
        case "z" where !inClass: return .end
        default:
            // Go allows a backslash before any ASCII punctuation.
            guard scalar.isASCII, scalar.value > 32, scalar.value < 127, !scalar.properties.isAlphabetic, !("0"..."9").contains(scalar) else {
                throw error("has '\\\(scalar)', which is not supported; supported escapes are punctuation (as in '\\.'), \\d \\w \\s \\D \\W \\S, \\t \\n \\r, \\A and \\z")
            }
            return .scalar(scalar)
        }
    }
}
