extension QRCode {
    /// The code drawn with Unicode half blocks, two rows of modules per line of text.
    ///
    /// The colours are set explicitly (black on white, with a 4-module quiet zone), so the code reads
    /// the same on dark and light terminals. With `ansiColors: false` no escape codes are written and
    /// dark modules are drawn as blocks, which suits light terminals and files.
    public func terminalString(ansiColors: Bool = true, quietZone: Int = 4) -> String {
        let side = size + 2 * quietZone
        func dark(_ x: Int, _ y: Int) -> Bool {
            let (mx, my) = (x - quietZone, y - quietZone)
            guard (0..<size).contains(mx), (0..<size).contains(my) else { return false }
            return isDark(x: mx, y: my)
        }
        var lines: [String] = []
        for y in stride(from: 0, to: side, by: 2) {
            var line = ansiColors ? "\u{1B}[30;107m" : ""
            for x in 0..<side {
                switch (dark(x, y), y + 1 < side && dark(x, y + 1)) {
                case (false, false): line += " "
                case (true, false): line += "\u{2580}"
                case (false, true): line += "\u{2584}"
                case (true, true): line += "\u{2588}"
                }
            }
            if ansiColors { line += "\u{1B}[0m" }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
