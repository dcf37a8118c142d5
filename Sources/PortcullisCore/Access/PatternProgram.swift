/// A resource pattern compiled to a Thompson automaton, run as a Pike machine without captures:
/// time linear in the text times the program, whatever the pattern (no backtracking), and no heap
/// allocation per match (the thread lists live on the stack).
struct PatternProgram: Sendable {
    enum Instruction: Sendable {
        case scalar(Unicode.Scalar)
        case set(Int)
        /// Go on at both; the first is tried first (it does not matter for a yes-or-no match).
        case split(Int, Int)
        case jump(Int)
        case assertStart
        case assertEnd
        case match
    }

    /// The most instructions a pattern may compile to.
    static let maximumInstructions = 4096

    private(set) var instructions: [Instruction] = []
    private(set) var sets: [ScalarSet] = []
    /// Nodes emitted so far: repetitions of what emits nothing (`((){1000}){1000}`) add no
    /// instruction but still take time, so the work is bounded too.
    private var emitted = 0

    init(_ node: PatternNode) throws(CoreError) {
        try emit(node)
        instructions.append(.match)
    }

    private mutating func append(_ instruction: Instruction) throws(CoreError) -> Int {
        guard instructions.count < Self.maximumInstructions else {
            throw CoreError(.invalidAccessRule, "is too large once its repetitions are expanded (over \(Self.maximumInstructions) steps); use '*' or '+' instead of large counts")
        }
        instructions.append(instruction)
        return instructions.count - 1
    }

    private mutating func emit(_ node: PatternNode) throws(CoreError) {
        emitted += 1
        guard emitted <= 4 * Self.maximumInstructions else {
            throw CoreError(.invalidAccessRule, "is too large once its repetitions are expanded; use '*' or '+' instead of large counts")
        }
        switch node {
        case .empty:
            break
        case .scalar(let scalar):
            _ = try append(.scalar(scalar))
        case .set(let set):
            if let index = sets.firstIndex(of: set) {
                _ = try append(.set(index))
            } else {
                sets.append(set)
                _ = try append(.set(sets.count - 1))
            }
        case .start:
            _ = try append(.assertStart)
        case .end:
            _ = try append(.assertEnd)
        case .concatenation(let items):
            for item in items { try emit(item) }
        case .alternation(let branches):
            // split L1, next; L1: branch; jump end; next: split L2, … ; last branch; end:
            var jumps: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index < branches.count - 1 {
                    let split = try append(.split(0, 0))
                    try emit(branch)
                    jumps.append(try append(.jump(0)))
                    instructions[split] = .split(split + 1, instructions.count)
                } else {
                    try emit(branch)
                }
            }
            for jump in jumps { instructions[jump] = .jump(instructions.count) }
        case .repetition(let inner, let min, let max):
            for _ in 0..<min { try emit(inner) }
            if let max {
                // Each optional copy may be skipped to the end.
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(try append(.split(0, 0)))
                    try emit(inner)
                }
                for split in splits { instructions[split] = .split(split + 1, instructions.count) }
            } else {
                // loop: split body, end; body; jump loop; end:
                let split = try append(.split(0, 0))
                try emit(inner)
                _ = try append(.jump(split))
                instructions[split] = .split(split + 1, instructions.count)
            }
        }
    }

    /// Whether every match must begin at the start of the text (the pattern begins with `^`).
    var anchoredAtStart: Bool {
        if case .assertStart = instructions[0] { return true }
        return false
    }

    /// Whether the pattern matches anywhere in `text` (Go's `MatchString`: a search, anchored only
    /// where the pattern says `^` or `$`).
    func matches(_ text: String) -> Bool {
        let count = instructions.count
        // Two thread lists, the marks, and a stack: each instruction marked pushes at most two.
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 5 * count + 2) { buffer in
            let base = buffer.baseAddress!
            var current = base
            var next = base + count
            let marks = base + 2 * count
            let stack = base + 3 * count
            marks.initialize(repeating: -1, count: count)
            var currentCount = 0
            var nextCount = 0
            var generation: Int32 = 0

            /// Adds `pc` and what it reaches without reading (jumps, splits, assertions) to `list`;
            /// true when that reaches the match.
            func add(_ pc: Int, to list: UnsafeMutablePointer<Int32>, count listCount: inout Int, atStart: Bool, atEnd: Bool) -> Bool {
                var depth = 0
                stack[0] = Int32(pc)
                depth = 1
                while depth > 0 {
                    depth -= 1
                    let pc = Int(stack[depth])
                    guard marks[pc] != generation else { continue }
                    marks[pc] = generation
                    switch instructions[pc] {
                    case .match:
                        return true
                    case .jump(let target):
                        stack[depth] = Int32(target)
                        depth += 1
                    case .split(let first, let second):
                        stack[depth] = Int32(second)
                        stack[depth + 1] = Int32(first)
                        depth += 2
                    case .assertStart:
                        if atStart {
                            stack[depth] = Int32(pc + 1)
                            depth += 1
                        }
                    case .assertEnd:
                        if atEnd {
                            stack[depth] = Int32(pc + 1)
                            depth += 1
                        }
                    case .scalar, .set:
                        list[listCount] = Int32(pc)
                        listCount += 1
                    }
                }
                return false
            }

            let scalars = text.unicodeScalars
            var index = scalars.startIndex
            generation += 1
            if add(0, to: current, count: &currentCount, atStart: true, atEnd: index == scalars.endIndex) { return true }
            while index != scalars.endIndex {
                let scalar = scalars[index]
                scalars.formIndex(after: &index)
                let atEnd = index == scalars.endIndex
                generation += 1
                nextCount = 0
                for item in 0..<currentCount {
                    let pc = Int(current[item])
                    let advances: Bool
                    switch instructions[pc] {
                    case .scalar(let expected): advances = scalar == expected
                    case .set(let set): advances = sets[set].contains(scalar)
                    default: advances = false
                    }
                    if advances, add(pc + 1, to: next, count: &nextCount, atStart: false, atEnd: atEnd) { return true }
                }
                // The search may start at every position.
                if !anchoredAtStart, add(0, to: next, count: &nextCount, atStart: false, atEnd: atEnd) { return true }
                swap(&current, &next)
                currentCount = nextCount
                if currentCount == 0, anchoredAtStart { return false }
            }
            return false
        }
    }
}
