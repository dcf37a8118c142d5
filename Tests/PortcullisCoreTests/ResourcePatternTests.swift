@testable import PortcullisCore
import Testing

/// The resource patterns: Go's meaning for the subset Authelia rules use, checked against a table,
/// against Swift's own regular expressions on random patterns, and what is refused.
@Suite("resource patterns") struct ResourcePatternTests {
    @Test("the patterns Authelia configurations use match as Go's MatchString does", arguments: [
        ("^/api([/?].*)?$", "/api", true), ("^/api([/?].*)?$", "/api/users", true), ("^/api([/?].*)?$", "/api?x=1", true),
        ("^/api([/?].*)?$", "/apifoo", false), ("^/api([/?].*)?$", "/v1/api", false),
        ("^/api.*$", "/apifoo", true), ("/api", "/v1/api/x", true), ("^/api/health$", "/api/health", true),
        ("^/api/health$", "/api/health/", false), ("^/api/health$", "/api/healthz", false),
        ("^/favicon\\.ico$", "/favicon.ico", true), ("^/favicon\\.ico$", "/faviconxico", false), ("^/favicon.ico$", "/faviconxico", true),
        ("^/agents/[^/]+$", "/agents/a1", true), ("^/agents/[^/]+$", "/agents/a1/x", false), ("^/agents/[^/]+$", "/agents/", false),
        ("^/v[0-9]+/runners/\\d+/poll$", "/v12/runners/77/poll", true), ("^/v[0-9]+/runners/\\d+/poll$", "/v/runners/77/poll", false),
        ("^/(pub|img)/", "/img/x", true), ("^/(pub|img)/", "/doc/x", false), ("^/(?:a|b)c$", "/bc", true), ("^/a|bc$", "/bx", false), ("^(?:/a|/b)c$", "/bc", true),
        ("^/grafana(/.*)?$", "/grafana", true), ("^/grafana(/.*)?$", "/grafanas", false),
        ("^/x{2}$", "/xx", true), ("^/x{2}$", "/xxx", false), ("^/x{2,}$", "/xxxx", true), ("^/x{1,2}$", "/xxx", false), ("^/x{1,2}$", "/x", true),
        ("^/a{", "/a{", true), ("^/a{x}", "/a{x}", true), ("^/[]a]$", "/]", true), ("^/[a-]$", "/-", true),
        ("^/\\w+\\s?$", "/user_1", true), ("^/\\W$", "/é", true), ("^/\\D$", "/1", false), ("^/.$", "/é", true), ("^/..$", "/é", false),
        ("^/(?P<id>\\d+)$", "/42", true), ("^/(?<id>\\d+)$", "/4x", false), ("^/a*?$", "/aaa", true), ("^/(a|)+$", "/", true),
        ("^$", "", true), ("", "/anything", true), ("x|^/y", "/y", true), ("^/é$", "/é", true), ("^/é$", "/e\u{301}", false),
        ("^/a.b$", "/a\nb", false), ("^/[é-ö]$", "/ë", true), ("^/[^é]$", "/é", false), ("^/[\u{100}-\u{10FFFF}]+$", "/ĀЖ😀", true), ("\\A/a\\z", "/a", true), ("^/[\\d.]+$", "/1.2", true), ("^/\\$x$", "/$x", true),
    ] as [(String, String, Bool)])
    func table(pattern: String, text: String, expected: Bool) throws {
        #expect(try ResourcePattern(pattern).matches(text) == expected)
    }

    @Test("what is outside the subset is refused, naming the part", arguments: [
        ("(?i)^/api", "(?i)"), ("^/api\\b", "\\b"), ("^/\\pL", "\\p"), ("^/[[:alpha:]]", "POSIX"), ("^/(?P<User>\\w+)$", "subject"),
        ("^/(a", "never closed"), ("^/a)", "closes no group"), ("^/[a", "never closed"), ("*a", "nothing before it"), ("^/a**", "repeats a repetition"),
        ("^/a{1001}", "1000"), ("^/[z-a]", "backwards"), ("^/\\", "lone"), ("^/[\\D]", "inside"), ("^*", "repeats '^'"),
        ("(((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))", "deeper"), ("((a{100}){100}){100}", "too large"), ("((((){1000}){1000}){1000}){1000}", "too large"),
    ] as [(String, String)])
    func refused(pattern: String, fragment: String) {
        #expect(throws: CoreError.self) { try ResourcePattern(pattern) }
        do {
            _ = try ResourcePattern(pattern)
        } catch {
            #expect(error.code == .invalidAccessRule)
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test("a query turns a miss into a match for some patterns, found with an example; not for those anchored to the path", arguments: [
        ("\\.js$", true), ("^/.*\\.js$", true), ("^/public/", false), ("^/api([/?].*)?$", false), ("^/health$", false),
        ("/public/", true), ("^/static/[^?]*\\.js$", false), ("^/export\\?(.*&)?format=csv(&|$)", true), ("^/(a|b)/.*x", true),
        ("^/a/.*", false), ("^/a$|^/b/", false), ("^/[^?]*$", false),
    ])
    func queryWidening(source: String, widens: Bool) throws {
        let pattern = try ResourcePattern(source)
        let found = pattern.queryWidening()
        #expect((found != nil) == widens, "\(source): \(String(describing: found))")
        if let found {
            #expect(found.path.hasPrefix("/") && !found.path.contains("?"))
            #expect(!pattern.matches(found.path) && pattern.matches(found.path + "?" + found.query), "\(source): \(found)")
        }
    }

    @Test("random patterns: every widening found is real, and where none is found random queries find none either")
    func queryWideningRandom() throws {
        var generator = SystemRandomNumberGenerator()
        let atoms = ["a", "/", "\\?", ".", "[^/]", "[?a]", "(a|/)", "b", "[^?]"]
        let quantifiers = ["", "", "*", "+", "?"]
        for _ in 0..<400 {
            var source = Bool.random(using: &generator) ? "^/" : ""
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                source += atoms.randomElement(using: &generator)! + quantifiers.randomElement(using: &generator)!
            }
            if Bool.random(using: &generator) { source += "$" }
            let pattern = try ResourcePattern(source)
            if let found = pattern.queryWidening() {
                #expect(!pattern.matches(found.path) && pattern.matches(found.path + "?" + found.query), "\(source): \(found)")
                continue
            }
            for _ in 0..<200 {
                let path = "/" + String((0..<Int.random(in: 0...4, using: &generator)).map { _ in "ab/.".randomElement(using: &generator)! })
                let query = String((0..<Int.random(in: 0...4, using: &generator)).map { _ in "ab/?.".randomElement(using: &generator)! })
                #expect(pattern.matches(path) || !pattern.matches(path + "?" + query), "\(source): '\(path)' then '?\(query)'")
            }
        }
    }

    @Test("a pattern over 1024 bytes is refused; one at the bound compiles")
    func length() throws {
        _ = try ResourcePattern("^/" + String(repeating: "a", count: 1022))
        #expect(throws: CoreError.self) { try ResourcePattern("^/" + String(repeating: "a", count: 1023)) }
    }

    @Test("random patterns of the subset agree with Swift's regular expressions on random paths")
    func agreesWithSwiftRegex() throws {
        var generator = SystemRandomNumberGenerator()
        let atoms = ["a", "b", "/", "\\.", ".", "[ab]", "[^a/]", "\\d", "1", "(a|b/)", "(?:ab|)", "[a-c]"]
        let quantifiers = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?"]
        var compared = 0
        for _ in 0..<3_000 {
            var pattern = Bool.random(using: &generator) ? "^" : ""
            for _ in 0..<Int.random(in: 1...5, using: &generator) {
                pattern += atoms.randomElement(using: &generator)! + quantifiers.randomElement(using: &generator)!
            }
            if Bool.random(using: &generator) { pattern += "$" }
            if Int.random(in: 0..<6, using: &generator) == 0 { pattern = "(" + pattern + ")|b1" }
            let ours = try ResourcePattern(pattern)
            let reference = try Regex(pattern).matchingSemantics(.unicodeScalar).asciiOnlyDigits()
            for _ in 0..<10 {
                let text = String((0..<Int.random(in: 0...8, using: &generator)).map { _ in "ab/.1c".randomElement(using: &generator)! })
                #expect(ours.matches(text) == (try reference.firstMatch(in: text) != nil), "\(pattern) on \(text)")
                compared += 1
            }
        }
        #expect(compared == 30_000)
    }
}
