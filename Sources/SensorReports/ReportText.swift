import Foundation

/// The gossip report as plain text.
enum GossipText {
    static func render(_ report: GossipReport) -> String {
        var lines: [String] = []
        for series in report.sensors {
            lines.append("sensor \(series.sensorIP)")
            for point in series.points {
                lines.append(
                    "  crawl \(point.crawl) (\(ReportRenderer.timeText(point.crawlStartedAtMicros))): "
                        + "\(point.peersContaining) of \(point.respondingPeers) responding peers "
                        + "(\(ReportRenderer.percentText(point.peerSharePercent))), "
                        + "\(point.responsesContaining) of \(point.responses) responses "
                        + "(\(ReportRenderer.percentText(point.responseSharePercent)))")
            }
            if let first = series.firstSeenAtMicros, let hours = series.hoursSinceFirstSeen {
                lines.append(
                    "  first seen \(ReportRenderer.timeText(first)), "
                        + String(format: "%.2f", hours) + " h before the last crawl")
            } else {
                lines.append("  never seen")
            }
            lines.append("  trend " + String(format: "%+.2f", series.trendPercentagePoints) + " percentage points")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The network report as plain text.
enum NetworkText {
    static func render(_ report: NetworkReport) -> String {
        var lines: [String] = []
        for section in report.sections {
            lines.append("sensor \(section.sensorID): \(section.uniquePeers) unique peers")
            lines.append(
                "  public \(section.publicPeers), private \(section.privatePeers), unknown \(section.unknownPeers)")
            let ratio = section.unreachableToReachable.map { String(format: "%.2f", $0) } ?? "n/a (no public peer)"
            lines.append("  unreachable:reachable \(ratio)")
            lines.append("  user agents:")
            lines += section.userAgents.map { "    \($0.peers)  \($0.value.isEmpty ? "(none)" : $0.value)" }
            lines.append("  protocol versions:")
            lines += section.protocolVersions.map { "    \($0.peers)  \($0.value.isEmpty ? "(none)" : $0.value)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
