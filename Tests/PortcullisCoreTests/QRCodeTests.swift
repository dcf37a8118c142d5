import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

@Suite struct QRCodeTests {
    @Test("byte capacities match ISO/IEC 18004 Table 7")
    func capacities() {
        #expect(QRCode.byteCapacity(version: 1, level: .low) == 17)
        #expect(QRCode.byteCapacity(version: 1, level: .medium) == 14)
        #expect(QRCode.byteCapacity(version: 1, level: .quartile) == 11)
        #expect(QRCode.byteCapacity(version: 1, level: .high) == 7)
        #expect(QRCode.byteCapacity(version: 10, level: .medium) == 213)
        #expect(QRCode.byteCapacity(version: 15, level: .medium) == 412)
        #expect(QRCode.byteCapacity(version: 40, level: .low) == 2953)
        #expect(QRCode.byteCapacity(version: 40, level: .medium) == 2331)
        #expect(QRCode.byteCapacity(version: 40, level: .high) == 1273)
    }

    @Test("the smallest version that fits is chosen, and too much data is refused")
    func versionChoice() throws {
        #expect(try QRCode(bytes: Array(repeating: 65, count: 14)).version == 1)
        #expect(try QRCode(bytes: Array(repeating: 65, count: 15)).version == 2)
        #expect(try QRCode(bytes: Array(repeating: 65, count: 14), errorCorrection: .quartile).version == 2)
        #expect(try QRCode(bytes: []).size == 21)
        #expect(throws: CoreError.self) { try QRCode(bytes: Array(repeating: 65, count: 2332)) }
    }

    @Test("finder patterns sit in three corners, with the dark module and timing pattern in place")
    func structure() throws {
        let code = try QRCode(encoding: "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP")
        for (cx, cy) in [(3, 3), (code.size - 4, 3), (3, code.size - 4)] {
            #expect(code.isDark(x: cx, y: cy))
            #expect(!code.isDark(x: cx + 2, y: cy))
            #expect(code.isDark(x: cx + 3, y: cy))
        }
        #expect(code.isDark(x: 8, y: code.size - 8))
        for index in 8..<(code.size - 8) {
            #expect(code.isDark(x: index, y: 6) == (index % 2 == 0))
        }
    }
}

/// Every code we draw must decode, with Debian's zbarimg, to exactly the text we put in.
@Suite(.enabled(if: ProcessRunner.isAvailable("zbarimg"), "needs zbarimg (apt-get install zbar-tools)"))
struct QRCodeDecodeTests {
    static func decode(png: [UInt8], in directory: TemporaryDirectory, name: String) throws -> String {
        let path = directory.file(name)
        try Data(png).write(to: URL(fileURLWithPath: path))
        let output = try ProcessRunner.run("zbarimg", ["--quiet", "--raw", "-Sbinary", path])
        guard output.status == 0 else { return "<zbarimg failed: \(output.stderr)>" }
        return output.stdout.hasSuffix("\n") ? String(output.stdout.dropLast()) : output.stdout
    }

    static func randomURI(length: Int, using random: inout SeededGenerator) -> String {
        let secret = Base32.encode(SecretGenerator.makeSecret(byteCount: 20, using: &random))
        let base = "otpauth://totp/Portcullis:user?secret=\(secret)&issuer=Portcullis&account="
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%")
        var text = base
        while text.count < length { text.append(alphabet.randomElement(using: &random)!) }
        return String(text.prefix(length))
    }

    @Test("60 otpauth URIs of 40 to 300 characters decode exactly, at levels L, M and Q")
    func otpauthURIs() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var random = SeededGenerator(seed: 99)
        let levels: [QRErrorCorrection] = [.low, .medium, .quartile]
        var versions = Set<Int>()
        for index in 0..<60 {
            let length = 40 + index * 260 / 59
            let text = Self.randomURI(length: length, using: &random)
            let level = levels[index % levels.count]
            let code = try QRCode(encoding: text, errorCorrection: level)
            versions.insert(code.version)
            let decoded = try Self.decode(png: code.pngData(moduleSize: 4), in: directory, name: "\(index).png")
            #expect(decoded == text, "length \(length), level \(level), version \(code.version), mask \(code.mask)")
        }
        #expect(versions.count >= 8, "covered versions \(versions.sorted())")
    }

    @Test("each of the eight masks decodes when forced")
    func everyMask() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = "otpauth://totp/Portcullis:alice?secret=JBSWY3DPEHPK3PXP&issuer=Portcullis"
        for mask in 0..<8 {
            let code = try QRCode(encoding: text, mask: mask)
            #expect(code.mask == mask)
            let decoded = try Self.decode(png: code.pngData(moduleSize: 4), in: directory, name: "mask\(mask).png")
            #expect(decoded == text, "mask \(mask)")
        }
    }

    @Test("every version from 1 to 40 decodes at each level, and the penalty picks varied masks")
    func everyVersion() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var random = SeededGenerator(seed: 100)
        var masks = Set<Int>()
        for version in 1...40 {
            // Which levels run is fixed (not hashValue, which changes every run), so each run decodes the same codes.
            for (index, level) in QRErrorCorrection.allCases.enumerated() where (version + index) % 2 == 0 || version <= 15 || level == .medium {
                let capacity = QRCode.byteCapacity(version: version, level: level)
                let text = String((0..<capacity).map { _ in Character(UnicodeScalar(UInt8.random(in: 0x21...0x7E, using: &random))) })
                let code = try QRCode(encoding: text, errorCorrection: level)
                #expect(code.version == version)
                masks.insert(code.mask)
                let decoded = try Self.decode(png: code.pngData(moduleSize: 3), in: directory, name: "v\(version)\(level.rawValue).png")
                #expect(decoded == text, "version \(version), level \(level.rawValue), mask \(code.mask)")
            }
        }
        #expect(masks.count >= 6, "masks used: \(masks.sorted())")
    }

    @Test("the SVG rendering decodes too (converted with ImageMagick)", .enabled(if: ProcessRunner.isAvailable("convert")))
    func svg() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = "otpauth://totp/Portcullis:alice?secret=JBSWY3DPEHPK3PXP&issuer=Portcullis"
        let svgPath = directory.file("code.svg")
        try QRCode(encoding: text).svgString(moduleSize: 6).write(toFile: svgPath, atomically: true, encoding: .utf8)
        let pngPath = directory.file("code.png")
        let conversion = try ProcessRunner.run("convert", [svgPath, pngPath])
        try #require(conversion.status == 0, "convert failed: \(conversion.stderr)")
        let output = try ProcessRunner.run("zbarimg", ["--quiet", "--raw", pngPath])
        #expect(output.stdout.trimmingCharacters(in: .newlines) == text)
    }

    @Test("the terminal rendering decodes when drawn as an image, and sets its own colours")
    func terminal() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = "otpauth://totp/Portcullis:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        let code = try QRCode(encoding: text)
        let colored = code.terminalString()
        #expect(colored.contains("\u{1B}[30;107m") && colored.contains("\u{1B}[0m"))
        // Turn the half blocks back into modules: each character is two pixel rows.
        let lines = code.terminalString(ansiColors: false).split(separator: "\n").map(Array.init)
        #expect(lines.count == (code.size + 8 + 1) / 2)
        let width = lines[0].count
        var rows: [[Bool]] = []
        for line in lines {
            rows.append(line.map { $0 == "\u{2580}" || $0 == "\u{2588}" })
            rows.append(line.map { $0 == "\u{2584}" || $0 == "\u{2588}" })
        }
        #expect(width == code.size + 8)
        for y in 0..<code.size {
            for x in 0..<code.size {
                #expect(rows[y + 4][x + 4] == code.isDark(x: x, y: y))
            }
        }
    }
}
