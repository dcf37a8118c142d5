extension QRCode {
    /// The code as a 1-bit greyscale PNG with a 4-module quiet zone, `moduleSize` pixels per module.
    public func pngData(moduleSize: Int = 8, quietZone: Int = 4) -> [UInt8] {
        let side = (size + 2 * quietZone) * moduleSize
        let rowBytes = (side + 7) / 8
        var pixels: [UInt8] = []
        pixels.reserveCapacity((rowBytes + 1) * side)
        for py in 0..<side {
            pixels.append(0)  // filter type: none
            var row = [UInt8](repeating: 0xFF, count: rowBytes)  // 1 = white
            let my = py / moduleSize - quietZone
            if (0..<size).contains(my) {
                for px in 0..<side {
                    let mx = px / moduleSize - quietZone
                    if (0..<size).contains(mx), isDark(x: mx, y: my) {
                        row[px / 8] &= ~(0x80 >> UInt8(px % 8))
                    }
                }
            }
            pixels.append(contentsOf: row)
        }
        return PNGEncoder.encode(width: side, height: side, bitDepth: 1, colorType: 0, scanlines: pixels)
    }
}
