/// Durations as people write them in configuration: `90s`, `15m`, `12h`, `30d`, `1w`, or a combination
/// such as `1h30m`. A bare number is seconds.
///
/// Bounded: a duration longer than ``maximumSeconds`` (100 years) is not read, so a caller that adds it
/// to a time since 1970 cannot overflow.
public enum DurationParser {
    /// The longest duration read: 100 years of 365.25 days.
    public static let maximumSeconds: Int64 = 3_155_760_000

    /// Seconds in the duration, or nil when the text is not a duration or is longer than ``maximumSeconds``.
    public static func seconds(_ text: String) -> Int64? {
        let text = text.trimmingASCIIWhitespace().lowercased()
        guard !text.isEmpty, text.count <= 32 else { return nil }
        if let plain = Int64(text) { return (0...maximumSeconds).contains(plain) ? plain : nil }
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
            // Each part and the running total stay within the maximum, so nothing below can overflow.
            guard let value = Int64(number), value <= maximumSeconds / unit else { return nil }
            total += value * unit
            guard total <= maximumSeconds else { return nil }
            number = ""
        }
        return number.isEmpty ? total : nil
    }
}
