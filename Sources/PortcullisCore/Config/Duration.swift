/// Durations as people write them in configuration: `90s`, `15m`, `12h`, `30d`, `1w`, or a combination
/// such as `1h30m`. A bare number is seconds.
public enum DurationParser {
    /// Seconds in the duration, or nil when the text is not a duration.
    public static func seconds(_ text: String) -> Int64? {
        let text = text.trimmingASCIIWhitespace().lowercased()
        guard !text.isEmpty, text.count <= 32 else { return nil }
        if let plain = Int64(text), plain >= 0 { return plain }
        var total: Int64 = 0
        var number = ""
        for character in text {
            if character.isASCIIDigit {
                number.append(character)
                continue
            }
            let unit: Int64
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            case "w": unit = 604_800
            default: return nil
            }
            guard let value = Int64(number) else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            total += product
            number = ""
        }
        return number.isEmpty ? total : nil
    }
}
