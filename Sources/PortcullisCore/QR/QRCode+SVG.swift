extension QRCode {
    /// The code as a standalone SVG document: one path of dark squares on a white background,
    /// with a 4-module quiet zone, `moduleSize` user units per module.
    public func svgString(moduleSize: Int = 8, quietZone: Int = 4) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svgElement(moduleSize: moduleSize, quietZone: quietZone) + "\n"
    }

    /// The `<svg>` element alone, for a web page. `label`, when given, becomes the image's
    /// accessible name (`role="img"`, `aria-label`); it must already be escaped for an attribute.
    public func svgElement(moduleSize: Int = 8, quietZone: Int = 4, label: String? = nil) -> String {
        let side = (size + 2 * quietZone) * moduleSize
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else { x += 1; continue }
                var run = 1
                while x + run < size, isDark(x: x + run, y: y) { run += 1 }
                path += "M\((x + quietZone) * moduleSize) \((y + quietZone) * moduleSize)h\(run * moduleSize)v\(moduleSize)h-\(run * moduleSize)z"
                x += run
            }
        }
        let accessible = label.map { " role=\"img\" aria-label=\"\($0)\"" } ?? ""
        return """
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(side)" height="\(side)" viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges"\(accessible)>
            <rect width="100%" height="100%" fill="#ffffff"/>
            <path fill="#000000" d="\(path)"/>
            </svg>
            """
    }
}
