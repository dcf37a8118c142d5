/// How much of a QR code can be damaged and still be read (ISO/IEC 18004 §6.5.1).
public enum QRErrorCorrection: String, Sendable, CaseIterable {
    /// About 7% recoverable.
    case low = "L"
    /// About 15% recoverable; the default, as most authenticator enrolment codes use.
    case medium = "M"
    /// About 25% recoverable.
    case quartile = "Q"
    /// About 30% recoverable.
    case high = "H"

    /// The two bits written into the format information (Table 12).
    var formatBits: Int {
        switch self {
        case .low: 1
        case .medium: 0
        case .quartile: 3
        case .high: 2
        }
    }

    var tableIndex: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .quartile: 2
        case .high: 3
        }
    }
}
