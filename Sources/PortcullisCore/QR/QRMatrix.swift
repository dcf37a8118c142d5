/// The module grid while a QR code is being built: function patterns, data placement, masks, penalty.
struct QRMatrix {
    let version: Int
    let size: Int
    private(set) var modules: [Bool]
    /// Modules that belong to function patterns and are never masked.
    private var isFunction: [Bool]

    init(version: Int) {
        self.version = version
        self.size = version * 4 + 17
        self.modules = Array(repeating: false, count: size * size)
        self.isFunction = Array(repeating: false, count: size * size)
    }

    subscript(x: Int, y: Int) -> Bool { modules[y * size + x] }

    private mutating func setFunction(x: Int, y: Int, dark: Bool) {
        modules[y * size + x] = dark
        isFunction[y * size + x] = true
    }

    // MARK: Function patterns (§6.3)

    mutating func drawFunctionPatterns(level: QRErrorCorrection) {
        for index in 0..<size {
            setFunction(x: 6, y: index, dark: index % 2 == 0)
            setFunction(x: index, y: 6, dark: index % 2 == 0)
        }
        drawFinder(centerX: 3, centerY: 3)
        drawFinder(centerX: size - 4, centerY: 3)
        drawFinder(centerX: 3, centerY: size - 4)

        let positions = QRTables.alignmentPositions(version: version)
        let last = positions.count - 1
        for (i, x) in positions.enumerated() {
            for (j, y) in positions.enumerated() {
                let overlapsFinder = (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0)
                if !overlapsFinder { drawAlignment(centerX: x, centerY: y) }
            }
        }
        drawFormatBits(level: level, mask: 0)  // reserves the area; redrawn once the mask is known
        drawVersionBits()
    }

    private mutating func drawFinder(centerX: Int, centerY: Int) {
        for dy in -4...4 {
            for dx in -4...4 {
                let x = centerX + dx, y = centerY + dy
                guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                let distance = max(abs(dx), abs(dy))
                setFunction(x: x, y: y, dark: distance != 2 && distance != 4)
            }
        }
    }

    private mutating func drawAlignment(centerX: Int, centerY: Int) {
        for dy in -2...2 {
            for dx in -2...2 {
                setFunction(x: centerX + dx, y: centerY + dy, dark: max(abs(dx), abs(dy)) != 1)
            }
        }
    }

    /// The 15 format bits (§7.9): level and mask with a BCH(15,5) code, twice, plus the dark module.
    mutating func drawFormatBits(level: QRErrorCorrection, mask: Int) {
        let data = level.formatBits << 3 | mask
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        let bits = (data << 10 | remainder) ^ 0x5412
        func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }

        for index in 0...5 { setFunction(x: 8, y: index, dark: bit(index)) }
        setFunction(x: 8, y: 7, dark: bit(6))
        setFunction(x: 8, y: 8, dark: bit(7))
        setFunction(x: 7, y: 8, dark: bit(8))
        for index in 9..<15 { setFunction(x: 14 - index, y: 8, dark: bit(index)) }

        for index in 0..<8 { setFunction(x: size - 1 - index, y: 8, dark: bit(index)) }
        for index in 8..<15 { setFunction(x: 8, y: size - 15 + index, dark: bit(index)) }
        setFunction(x: 8, y: size - 8, dark: true)
    }

    /// The 18 version bits (§7.10), versions 7 and up: the version with a BCH(18,6) code, twice.
    private mutating func drawVersionBits() {
        guard version >= 7 else { return }
        var remainder = version
        for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
        let bits = version << 12 | remainder
        for index in 0..<18 {
            let dark = (bits >> index) & 1 == 1
            let a = size - 11 + index % 3, b = index / 3
            setFunction(x: a, y: b, dark: dark)
            setFunction(x: b, y: a, dark: dark)
        }
    }

    // MARK: Data

    /// Places codewords in the two-column zigzag from the bottom right (§7.7.3).
    mutating func drawCodewords(_ codewords: [UInt8]) {
        var bitIndex = 0
        let totalBits = codewords.count * 8
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }  // skip the vertical timing pattern
            let upward = (right + 1) & 2 == 0
            for vertical in 0..<size {
                for column in 0..<2 {
                    let x = right - column
                    let y = upward ? size - 1 - vertical : vertical
                    guard !isFunction[y * size + x], bitIndex < totalBits else { continue }
                    modules[y * size + x] = (codewords[bitIndex >> 3] >> UInt8(7 - (bitIndex & 7))) & 1 == 1
                    bitIndex += 1
                }
            }
            right -= 2
        }
    }

    /// XORs the data modules with mask pattern `mask` (Table 10). Applying it twice undoes it.
    mutating func applyMask(_ mask: Int) {
        for y in 0..<size {
            for x in 0..<size where !isFunction[y * size + x] {
                let invert: Bool
                switch mask {
                case 0: invert = (x + y) % 2 == 0
                case 1: invert = y % 2 == 0
                case 2: invert = x % 3 == 0
                case 3: invert = (x + y) % 3 == 0
                case 4: invert = (x / 3 + y / 2) % 2 == 0
                case 5: invert = x * y % 2 + x * y % 3 == 0
                case 6: invert = (x * y % 2 + x * y % 3) % 2 == 0
                default: invert = ((x + y) % 2 + x * y % 3) % 2 == 0
                }
                if invert { modules[y * size + x].toggle() }
            }
        }
    }

    // MARK: Penalty (§7.8.3)

    /// The mask penalty score: runs, 2×2 blocks, finder-like patterns and dark/light balance.
    func penalty() -> Int {
        var score = 0
        for line in 0..<size {
            score += runAndFinderPenalty { self[$0, line] }
            score += runAndFinderPenalty { self[line, $0] }
        }
        for y in 0..<(size - 1) {
            for x in 0..<(size - 1) {
                let color = self[x, y]
                if color == self[x + 1, y], color == self[x, y + 1], color == self[x + 1, y + 1] { score += 3 }
            }
        }
        let dark = modules.reduce(0) { $0 + ($1 ? 1 : 0) }
        let total = size * size
        let deviation = (abs(dark * 20 - total * 10) + total - 1) / total - 1
        score += deviation * 10
        return score
    }

    /// Rule 1 (runs of five or more: 3 + excess) and rule 3 (1:1:3:1:1 with four light modules
    /// on one side: 40) along one row or column.
    private func runAndFinderPenalty(_ module: (Int) -> Bool) -> Int {
        var score = 0
        var runColor = module(0)
        var runLength = 1
        for index in 1..<size {
            if module(index) == runColor {
                runLength += 1
            } else {
                if runLength >= 5 { score += 3 + runLength - 5 }
                runColor = module(index)
                runLength = 1
            }
        }
        if runLength >= 5 { score += 3 + runLength - 5 }

        let pattern: [Bool] = [true, false, true, true, true, false, true]
        for start in 0...(size - 7) where (0..<7).allSatisfy({ module(start + $0) == pattern[$0] }) {
            let lightBefore = (1...4).allSatisfy { start - $0 < 0 || !module(start - $0) }
            let lightAfter = (0..<4).allSatisfy { start + 7 + $0 >= size || !module(start + 7 + $0) }
            if lightBefore || lightAfter { score += 40 }
        }
        return score
    }
}
