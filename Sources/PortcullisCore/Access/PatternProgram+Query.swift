/// Whether a query can turn a miss into a match: for `config check`, which warns about rules that
/// open more (`bypass`, `one_factor`) and whose pattern anyone can satisfy by writing a query, as
/// `\.js$` is by `/admin?x.js`. Not used per request.
extension PatternProgram {
    /// A path (starting with `/`) that the pattern does not match on its own, and a query that
    /// makes `path?query` match; nil when no query ever does, or when finding out would take more
    /// than `budget` steps (then nothing is claimed).
    func queryWidening(budget: Int = 5_000_000) -> (path: String, query: String)? {
        var work = QueryWideningSearch(program: self, budget: budget)
        return work.run()
    }
}

private struct QueryWideningSearch {
    let program: PatternProgram
    var budget: Int
    /// Characters standing for every class of characters the pattern tells apart (without `?`).
    let alphabet: [Unicode.Scalar]
    /// What ``query(after:)`` found for each state already asked.
    var queries: [[Int]: QueryAnswer] = [:]

    init(program: PatternProgram, budget: Int) {
        self.program = program
        self.budget = budget
        var values = Set<UInt32>((0x20...0x7E).filter { $0 != UInt32(UInt8(ascii: "?")) })
        values.insert(0xE9)
        for instruction in program.instructions {
            switch instruction {
            case .scalar(let scalar) where scalar.value >= 0x80: values.insert(scalar.value)
            case .set(let index):
                for range in program.sets[index].ranges {
                    values.insert(range.lowerBound)
                    if range.upperBound < 0x10FFFF { values.insert(range.upperBound + 1) }
                }
            default: break
            }
        }
        alphabet = values.sorted().compactMap(Unicode.Scalar.init).filter { !(0xD800...0xDFFF).contains($0.value) }
    }

    /// The consuming instructions `pcs` reach without reading, and whether they reach the match.
    mutating func close(_ pcs: [Int], atStart: Bool, atEnd: Bool) -> (threads: [Int], matched: Bool)? {
        var seen = Set<Int>()
        var stack = pcs
        var threads: [Int] = []
        while let pc = stack.popLast() {
            budget -= 1
            guard budget > 0 else { return nil }
            guard seen.insert(pc).inserted else { continue }
            switch program.instructions[pc] {
            case .match: return (threads, true)
            case .jump(let target): stack.append(target)
            case .split(let first, let second): stack += [second, first]
            case .assertStart: if atStart { stack.append(pc + 1) }
            case .assertEnd: if atEnd { stack.append(pc + 1) }
            case .scalar, .set: threads.append(pc)
            }
        }
        return (threads.sorted(), false)
    }

    func accepts(_ pc: Int, _ scalar: Unicode.Scalar) -> Bool {
        switch program.instructions[pc] {
        case .scalar(let expected): expected == scalar
        case .set(let index): program.sets[index].contains(scalar)
        default: false
        }
    }

    /// The instructions to go on at after `threads` read `scalar` (a search may also start anew).
    func step(_ threads: [Int], _ scalar: Unicode.Scalar) -> [Int] {
        var next = threads.filter { accepts($0, scalar) }.map { $0 + 1 }
        if !program.anchoredAtStart { next.append(0) }
        return Array(Set(next)).sorted()
    }

    mutating func run() -> (path: String, query: String)? {
        // Every target starts with '/'.
        guard let start = close([0], atStart: true, atEnd: false), !start.matched else { return nil }
        var queue: [([Int], String)] = [(step(start.threads, "/"), "/")]
        var visited: Set<[Int]> = [queue[0].0]
        var head = 0
        while head < queue.count {
            let (state, path) = queue[head]
            head += 1
            guard let open = close(state, atStart: false, atEnd: false) else { return nil }
            // Matched already: every longer text matches too, query or not.
            if open.matched { continue }
            guard let ending = close(state, atStart: false, atEnd: true) else { return nil }
            if !ending.matched {
                let afterQuestionMark = step(open.threads, "?")
                let answer = queries[afterQuestionMark] ?? query(after: afterQuestionMark)
                queries[afterQuestionMark] = answer
                switch answer {
                case .found(let query): return (path, query)
                case .gaveUp: return nil
                case .none: break
                }
            }
            guard path.unicodeScalars.count < 64 else { continue }
            for scalar in alphabet {
                let next = step(open.threads, scalar)
                if visited.insert(next).inserted { queue.append((next, path + String(scalar))) }
            }
            guard budget > 0 else { return nil }
        }
        return nil
    }

    enum QueryAnswer { case found(String), none, gaveUp }

    /// The shortest query that leads `state` (just after the `?`) to a match.
    mutating func query(after state: [Int]) -> QueryAnswer {
        var queue: [([Int], String)] = [(state, "")]
        var visited: Set<[Int]> = [state]
        var head = 0
        while head < queue.count {
            let (state, query) = queue[head]
            head += 1
            guard let open = close(state, atStart: false, atEnd: false), let ending = close(state, atStart: false, atEnd: true) else { return .gaveUp }
            if open.matched || ending.matched { return .found(query) }
            guard query.unicodeScalars.count < 64 else { continue }
            for scalar in alphabet + ["?"] {
                let next = step(open.threads, scalar)
                if visited.insert(next).inserted { queue.append((next, query + String(scalar))) }
            }
        }
        return .none
    }
}
