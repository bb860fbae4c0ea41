import Foundation

/// Small inline SVG plots for the HTML reports: no scripts, no external assets.
enum SVGChart {
    /// Horizontal bars, one per `(label, value)`.
    static func bars(_ items: [(label: String, value: Double)], unit: String = "") -> String {
        let width = 640.0, rowHeight = 22.0, labelWidth = 220.0
        let maximum = max(items.map(\.value).max() ?? 1, 1e-9)
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(rowHeight * Double(max(items.count, 1)) + 4))\">"
        for (index, item) in items.enumerated() {
            let y = Double(index) * rowHeight + 2
            let length = (width - labelWidth - 80) * item.value / maximum
            svg += "<text x=\"0\" y=\"\(y + 15)\" font-size=\"12\">\(escape(String(item.label.prefix(32))))</text>"
            svg +=
                "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(format(length))\" height=\"\(rowHeight - 6)\" fill=\"#3b7dd8\"/>"
            svg +=
                "<text x=\"\(format(labelWidth + length + 4))\" y=\"\(y + 15)\" font-size=\"12\">\(format(item.value))\(unit)</text>"
        }
        return svg + "</svg>"
    }

    /// A line through `points` (x in any unit, y in 0…100 percent), with axes.
    static func percentLine(_ points: [(x: Double, y: Double)], xLabel: String) -> String {
        let width = 640.0, height = 240.0, margin = 40.0
        let xs = points.map(\.x)
        let minX = xs.min() ?? 0, spanX = max((xs.max() ?? 1) - minX, 1e-9)
        func position(_ point: (x: Double, y: Double)) -> String {
            let x = points.count == 1 ? width / 2 : margin + (point.x - minX) / spanX * (width - 2 * margin)
            let y = height - margin - point.y / 100 * (height - 2 * margin)
            return "\(format(x)),\(format(y))"
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\">"
        svg +=
            "<line x1=\"\(margin)\" y1=\"\(height - margin)\" x2=\"\(width - margin)\" y2=\"\(height - margin)\" stroke=\"#333\"/>"
        svg += "<line x1=\"\(margin)\" y1=\"\(margin)\" x2=\"\(margin)\" y2=\"\(height - margin)\" stroke=\"#333\"/>"
        svg += "<text x=\"4\" y=\"\(margin)\" font-size=\"11\">100%</text>"
        svg += "<text x=\"4\" y=\"\(height - margin)\" font-size=\"11\">0%</text>"
        svg += "<text x=\"\(width / 2 - 40)\" y=\"\(height - 8)\" font-size=\"11\">\(escape(xLabel))</text>"
        svg += "<polyline fill=\"none\" stroke=\"#d8573b\" stroke-width=\"2\" points=\""
        svg += points.map(position).joined(separator: " ") + "\"/>"
        for point in points {
            let xy = position(point).split(separator: ",")
            svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3\" fill=\"#d8573b\"/>"
        }
        return svg + "</svg>"
    }

    static func format(_ value: Double) -> String {
        String(format: "%.2f", value)
    }

    /// Escapes text for HTML and SVG.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
