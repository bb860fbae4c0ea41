import Foundation

/// How a report is printed.
public enum ReportFormat: String, Sendable, CaseIterable {
    /// Plain text for a terminal.
    case text
    /// One JSON document (the report's Codable form, keys sorted).
    case json
    /// A self-contained HTML page with inline SVG plots (no external assets).
    case html
}

/// Renders reports in each ``ReportFormat``.
public enum ReportRenderer {
    /// The gossip report in `format`.
    public static func render(_ report: GossipReport, as format: ReportFormat) -> String {
        switch format {
        case .text: return GossipText.render(report)
        case .json: return json(report)
        case .html: return GossipHTML.render(report)
        }
    }

    /// The network report in `format`.
    public static func render(_ report: NetworkReport, as format: ReportFormat) -> String {
        switch format {
        case .text: return NetworkText.render(report)
        case .json: return json(report)
        case .html: return NetworkHTML.render(report)
        }
    }

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// `12.50%`.
    static func percentText(_ value: Double) -> String {
        String(format: "%.2f%%", value)
    }

    /// An ISO 8601 UTC time.
    static func timeText(_ micros: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros) / 1e6))
    }
}
