/// Arithmetic that cannot trap, for values that come from input or from the store.
///
/// Portcullis bounds such values where they enter (see ``OTPDeviceState/maximumCounter``,
/// ``DurationParser/maximumSeconds``), and computes with them here as well, so that a value that slipped
/// through (an edited database, a future importer) gives a wrong-but-harmless answer, never a crash.
///
/// ```swift
/// Int64.max.addingSaturating(1)  // Int64.max
/// ```
extension Int64 {
    /// `self + other`, or the nearest representable value when the sum overflows.
    public func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, or the nearest representable value when the difference overflows.
    public func subtractingSaturating(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other > 0 ? .min : .max
    }
}
