/// YAML documents built to exhaust a reader.
public enum HostileYAML {
    /// "Billion laughs": `levels` lists, each holding `width` aliases to the one before, so the
    /// document of a few hundred bytes has width^levels values once its aliases are expanded
    /// (9 levels: 387 million; the document that took 7 GB).
    public static func laughs(levels: Int, width: Int = 9) -> String {
        var lines = ["l0: &l0 [" + Array(repeating: "\"lol\"", count: width).joined(separator: ",") + "]"]
        for level in 1..<levels {
            lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: width).joined(separator: ",") + "]")
        }
        return lines.joined(separator: "\n")
    }
}
