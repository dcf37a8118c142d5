/// A QR code (ISO/IEC 18004) holding bytes, as a square of dark and light modules.
///
/// The encoder uses byte mode, picks the smallest version (1–40) that fits at the requested error
/// correction level, and tries all eight masks, keeping the one with the lowest penalty (§7.8.3).
///
/// ```swift
/// let code = try QRCode(encoding: "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP")
/// print(code.terminalString())
/// try code.pngData(moduleSize: 8).write(to: url)
/// ```
public struct QRCode: Sendable, Equatable {
    /// 1 to 40; the code is `4 × version + 17` modules wide.
    public let version: Int
    public let errorCorrection: QRErrorCorrection
    /// The mask pattern (0–7) that was applied.
    public let mask: Int
    /// Modules per side.
    public let size: Int
    /// Row-major modules; `true` is dark.
    public let modules: [Bool]

    /// Whether the module at column `x`, row `y` is dark.
    public func isDark(x: Int, y: Int) -> Bool { modules[y * size + x] }

    /// Encodes UTF-8 text.
    public init(encoding text: String, errorCorrection: QRErrorCorrection = .medium, mask: Int? = nil) throws {
        try self.init(bytes: Array(text.utf8), errorCorrection: errorCorrection, mask: mask)
    }

    /// Encodes bytes in byte mode.
    /// - Parameters:
    ///   - minimumVersion: the smallest version to use, for a code of a steady size.
    ///   - mask: a fixed mask pattern (0–7); nil picks the one with the lowest penalty.
    /// - Throws: ``CoreError/Code/qrCapacityExceeded`` when even version 40 cannot hold them.
    public init(bytes: [UInt8], errorCorrection: QRErrorCorrection = .medium, minimumVersion: Int = 1, mask: Int? = nil) throws {
        guard let version = Self.smallestVersion(for: bytes.count, level: errorCorrection, from: max(1, minimumVersion)) else {
            let capacity = Self.byteCapacity(version: 40, level: errorCorrection)
            throw CoreError(.qrCapacityExceeded, "\(bytes.count) bytes do not fit in a QR code at level \(errorCorrection.rawValue); the most is \(capacity).")
        }
        let data = Self.dataCodewords(bytes, version: version, level: errorCorrection)
        let codewords = Self.interleaveWithErrorCorrection(data, version: version, level: errorCorrection)

        var matrix = QRMatrix(version: version)
        matrix.drawFunctionPatterns(level: errorCorrection)
        matrix.drawCodewords(codewords)
        var bestMask = 0
        var bestPenalty = Int.max
        let candidates = mask.map { [min(max($0, 0), 7)] } ?? Array(0..<8)
        for mask in candidates {
            matrix.applyMask(mask)
            matrix.drawFormatBits(level: errorCorrection, mask: mask)
            let penalty = matrix.penalty()
            if penalty < bestPenalty {
                bestPenalty = penalty
                bestMask = mask
            }
            matrix.applyMask(mask)  // XOR again to undo
        }
        matrix.applyMask(bestMask)
        matrix.drawFormatBits(level: errorCorrection, mask: bestMask)

        self.version = version
        self.errorCorrection = errorCorrection
        self.mask = bestMask
        self.size = matrix.size
        self.modules = matrix.modules
    }

    /// The most bytes a version holds in byte mode at a level.
    public static func byteCapacity(version: Int, level: QRErrorCorrection) -> Int {
        let bits = QRTables.dataCodewords(version: version, level: level) * 8 - 4 - countBits(version: version)
        return bits / 8
    }

    static func smallestVersion(for byteCount: Int, level: QRErrorCorrection, from minimum: Int) -> Int? {
        (minimum...40).first { byteCapacity(version: $0, level: level) >= byteCount }
    }

    /// Bits of the character count indicator in byte mode (Table 3).
    static func countBits(version: Int) -> Int { version <= 9 ? 8 : 16 }

    /// Mode indicator, count, data, terminator and pad codewords (§7.4).
    static func dataCodewords(_ bytes: [UInt8], version: Int, level: QRErrorCorrection) -> [UInt8] {
        let capacityBits = QRTables.dataCodewords(version: version, level: level) * 8
        var bits = BitBuffer()
        bits.append(0b0100, count: 4)
        bits.append(bytes.count, count: countBits(version: version))
        for byte in bytes { bits.append(Int(byte), count: 8) }
        bits.append(0, count: min(4, capacityBits - bits.count))
        bits.append(0, count: (8 - bits.count % 8) % 8)
        var codewords = bits.bytes
        var pad: UInt8 = 0xEC
        while codewords.count * 8 < capacityBits {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    /// Splits data into blocks, adds each block's error correction and interleaves them (§7.6).
    static func interleaveWithErrorCorrection(_ data: [UInt8], version: Int, level: QRErrorCorrection) -> [UInt8] {
        let blockCount = QRTables.errorCorrectionBlocks[level.tableIndex][version]
        let eccLength = QRTables.eccCodewordsPerBlock[level.tableIndex][version]
        let rawCodewords = QRTables.rawDataModules(version: version) / 8
        let shortBlockCount = blockCount - rawCodewords % blockCount
        let shortBlockLength = rawCodewords / blockCount
        let divisor = ReedSolomon.divisor(degree: eccLength)

        var blocks: [[UInt8]] = []
        var offset = 0
        for index in 0..<blockCount {
            let length = shortBlockLength - eccLength + (index < shortBlockCount ? 0 : 1)
            var block = Array(data[offset..<(offset + length)])
            offset += length
            let ecc = ReedSolomon.remainder(of: block, divisor: divisor)
            if index < shortBlockCount { block.append(0) }  // placeholder, skipped below
            blocks.append(block + ecc)
        }
        var result: [UInt8] = []
        result.reserveCapacity(rawCodewords)
        for position in 0..<blocks[0].count {
            for (index, block) in blocks.enumerated()
            where position != shortBlockLength - eccLength || index >= shortBlockCount {
                result.append(block[position])
            }
        }
        return result
    }
}

/// A growing sequence of bits, most significant first.
struct BitBuffer {
    private(set) var count = 0
    private(set) var bytes: [UInt8] = []

    mutating func append(_ value: Int, count bitCount: Int) {
        for shift in stride(from: bitCount - 1, through: 0, by: -1) {
            if count % 8 == 0 { bytes.append(0) }
            if (value >> shift) & 1 == 1 { bytes[count / 8] |= 0x80 >> UInt8(count % 8) }
            count += 1
        }
    }
}
