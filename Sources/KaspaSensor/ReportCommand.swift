import ArgumentParser
import SensorReports

/// `kaspa-sensor report gossip|network`.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports over crawl and sensor databases.",
        subcommands: [GossipReportCommand.self, NetworkReportCommand.self]
    )
}

/// `--format`: text, json or html.
struct FormatOption: ParsableArguments {
    @Option(help: "text, json or html.")
    var format = "text"

    func parsed() throws -> ReportFormat {
        guard let format = ReportFormat(rawValue: format) else {
            throw ValidationError("--format: expected text, json or html, got \(format)")
        }
        return format
    }
}

/// `report gossip`: how present sensor addresses are in the network's address gossip.
struct GossipReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip",
        abstract: "Share of responding peers (and of responses) advertising each sensor address, per crawl."
    )

    @Option(name: .customLong("sensor-ip"), help: "Sensor IPs: IP[,IP...].")
    var sensorIP: String

    @OptionGroup var format: FormatOption

    @Argument(help: "Crawl databases (from kaspa-sensor crawl), any order.")
    var crawls: [String]

    func run() async throws {
        do {
            let ips = sensorIP.split(separator: ",").map(String.init)
            let report = try GossipReport.make(sensorIPs: ips, crawls: crawls)
            print(ReportRenderer.render(report, as: try format.parsed()), terminator: "")
        } catch let error as ReportError {
            throw StartupError(message: error.description)
        }
    }
}

/// `report network`: public vs private, user agents and protocol versions from sensor databases.
struct NetworkReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Unique peers per sensor: public vs private, user agents, protocol versions."
    )

    @OptionGroup var format: FormatOption

    @Argument(help: "Sensor event databases ([database] path), one or more.")
    var databases: [String]

    func run() async throws {
        do {
            let report = try NetworkReport.make(databases: databases)
            print(ReportRenderer.render(report, as: try format.parsed()), terminator: "")
        } catch let error as ReportError {
            throw StartupError(message: error.description)
        }
    }
}
