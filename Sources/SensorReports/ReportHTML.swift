/// A self-contained HTML page: inline CSS, inline SVG, nothing fetched.
enum HTMLPage {
    static func wrap(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(SVGChart.escape(title))</title>
        <style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}
        td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}</style></head>
        <body><h1>\(SVGChart.escape(title))</h1>
        \(body)
        </body></html>

        """
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        "<table><tr>" + header.map { "<th>\(SVGChart.escape($0))</th>" }.joined() + "</tr>"
            + rows.map { "<tr>" + $0.map { "<td>\(SVGChart.escape($0))</td>" }.joined() + "</tr>" }.joined()
            + "</table>"
    }
}

/// The gossip report as HTML: a table per sensor address and its peer share over time.
enum GossipHTML {
    static func render(_ report: GossipReport) -> String {
        var body = ""
        for series in report.sensors {
            body += "<h2>Sensor \(SVGChart.escape(series.sensorIP))</h2>"
            body += HTMLPage.table(
                ["crawl", "started", "peers containing", "responding peers", "peer share", "response share"],
                series.points.map { point in
                    [
                        point.crawl, ReportRenderer.timeText(point.crawlStartedAtMicros),
                        String(point.peersContaining), String(point.respondingPeers),
                        ReportRenderer.percentText(point.peerSharePercent),
                        ReportRenderer.percentText(point.responseSharePercent),
                    ]
                })
            let start = series.points.first?.crawlStartedAtMicros ?? 0
            body += "<p>Share of responding peers advertising the sensor, by hours since the first crawl:</p>"
            body += SVGChart.percentLine(
                series.points.map { (Double($0.crawlStartedAtMicros - start) / 3.6e9, $0.peerSharePercent) },
                xLabel: "hours since the first crawl")
        }
        return HTMLPage.wrap(title: "Gossip presence of sensor addresses", body: body)
    }
}

/// The network report as HTML: counts, labels and user agents per sensor, as tables and bars.
enum NetworkHTML {
    static func render(_ report: NetworkReport) -> String {
        var body = ""
        for section in report.sections {
            body += "<h2>Sensor \(SVGChart.escape(section.sensorID)): \(section.uniquePeers) unique peers</h2>"
            body += SVGChart.bars([
                ("public", Double(section.publicPeers)), ("private", Double(section.privatePeers)),
                ("unknown", Double(section.unknownPeers)),
            ])
            let ratio = section.unreachableToReachable.map { SVGChart.format($0) } ?? "n/a"
            body += "<p>unreachable:reachable \(ratio)</p><h3>User agents</h3>"
            body += SVGChart.bars(section.userAgents.map { ($0.value, Double($0.peers)) })
            body += "<h3>Protocol versions</h3>"
            body += HTMLPage.table(
                ["version", "peers"], section.protocolVersions.map { [$0.value, String($0.peers)] })
        }
        return HTMLPage.wrap(title: "Kaspa network seen by the sensors", body: body)
    }
}
