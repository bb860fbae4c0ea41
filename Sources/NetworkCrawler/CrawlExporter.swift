import AddressBook
import Foundation

/// Writes a crawl database out as CSV (`nodes.csv`, `edges.csv`) or as one JSON document.
public struct CrawlExporter {
    /// The node columns, in order.
    static let nodeColumns = [
        "address", "ip", "port", "state", "source", "reachable", "failure", "failure_detail", "peer_id", "user_agent",
        "protocol_version", "peer_network", "latency_ms", "address_rounds", "addresses_received", "visited_at_us",
    ]

    private let store: CrawlStore

    /// Creates an exporter for `store`.
    public init(store: CrawlStore) {
        self.store = store
    }

    /// Writes `nodes.csv` and `edges.csv` into `directory` (created if needed).
    public func writeCSV(into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (nodes, edges) = try rows()
        var nodeText = Self.nodeColumns.joined(separator: ",") + "\n"
        for row in nodes {
            nodeText += row.values.indices.map { Self.csvField(row.text($0) ?? "") }.joined(separator: ",") + "\n"
        }
        var edgeText = "advertiser,advertised\n"
        for row in edges {
            edgeText += "\(Self.csvField(row.text(0) ?? "")),\(Self.csvField(row.text(1) ?? ""))\n"
        }
        try nodeText.write(toFile: directory + "/nodes.csv", atomically: true, encoding: .utf8)
        try edgeText.write(toFile: directory + "/edges.csv", atomically: true, encoding: .utf8)
    }

    /// Writes `{"crawl": {…info…}, "nodes": [...], "edges": [{"advertiser":…, "advertised":…}]}` to `path`.
    public func writeJSON(to path: String) throws {
        let (nodes, edges) = try rows()
        let info = try store.database.query("SELECT key, value FROM crawl_info ORDER BY key")
        let document: [String: Any] = [
            "crawl": Dictionary(uniqueKeysWithValues: info.map { ($0.text(0) ?? "", $0.text(1) ?? "") }),
            "nodes": nodes.map { row in
                Dictionary(
                    uniqueKeysWithValues: zip(Self.nodeColumns, row.values).map { ($0, Self.jsonValue($1)) })
            },
            "edges": edges.map { ["advertiser": $0.text(0) ?? "", "advertised": $0.text(1) ?? ""] },
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])
        try data.write(to: URL(fileURLWithPath: path))
    }

    private func rows() throws(SQLiteError) -> (nodes: [SQLiteRow], edges: [SQLiteRow]) {
        let nodes = try store.database.query(
            "SELECT \(Self.nodeColumns.joined(separator: ", ")) FROM nodes ORDER BY address")
        let edges = try store.database.query("SELECT advertiser, advertised FROM edges ORDER BY advertiser, advertised")
        return (nodes, edges)
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { ",\"\n\r".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func jsonValue(_ value: SQLiteValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .integer(let number): return number
        case .real(let number): return number
        case .text(let text): return text
        }
    }
}
