import PortcullisCore

/// The access rules: the request targets every verify reads, and the patterns rules are written in.
let accessTargets: [FuzzTarget] = [
    // A request target as a proxy sends it: the normalised path starts with '/', has no empty, '.'
    // or '..' segment, and normalises to itself.
    FuzzTarget(name: "access-target") { bytes in
        let target = "/" + text(bytes)
        let normalised = AccessTarget.pathAndQuery(ofURL: "https://app.example.com" + target)
        // Bytes, not Characters: '/' followed by a combining mark is one Character.
        let slash = UInt8(ascii: "/")
        require(normalised.utf8.first == slash, "'\(normalised)' does not start with '/'")
        let path = AccessTarget.normalisedPath(AccessTarget.percentDecoded(target.utf8.prefix { $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }))
        // The quick path for normal paths gives what decoding and normalising give.
        let beforeFragment = target.utf8.prefix { $0 != UInt8(ascii: "#") }
        let question = beforeFragment.firstIndex(of: UInt8(ascii: "?"))
        let query = question.map { beforeFragment[beforeFragment.index(after: $0)...] } ?? beforeFragment[beforeFragment.endIndex...]
        let expected = path + (query.isEmpty ? "" : "?" + String(decoding: query, as: UTF8.self))
        require(normalised.utf8.elementsEqual(expected.utf8), "'\(target)' reads as '\(normalised)', decoded and normalised it is '\(expected)'")
        let segments = Array(path.utf8).split(separator: slash, omittingEmptySubsequences: false).dropFirst()
        require(!segments.dropLast().contains { $0.isEmpty }, "'\(path)' has an empty segment")
        require(!segments.contains { $0.elementsEqual(".".utf8) || $0.elementsEqual("..".utf8) }, "'\(path)' has a dot segment")
        require(AccessTarget.normalisedPath(Array(path.utf8)).utf8.elementsEqual(path.utf8), "'\(path)' does not normalise to itself")
    },
    // A pattern (the first line) and a text (the rest): compiling never traps, and the quick checks
    // before the automaton (a literal prefix, an exact pattern) answer as the automaton alone does.
    FuzzTarget(name: "access-pattern") { bytes in
        let parts = text(bytes).split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let subject = parts.count > 1 ? String(parts[1]) : ""
        guard let pattern = try? ResourcePattern(String(parts[0])) else { return }
        // In an alternation the pattern loses its quick checks; `$^x` never matches.
        guard let plain = try? ResourcePattern("(?:" + parts[0] + ")|$^x") else { return }
        require(pattern.matches(subject) == plain.matches(subject), "'\(parts[0])' on '\(subject)': the quick checks disagree with the automaton")
    },
]
