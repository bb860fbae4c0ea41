import ArgumentParser

/// `kaspa-sensor`: maps the Kaspa P2P network by accepting peers, dialing them back and recording every event.
@main
struct KaspaSensorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kaspa-sensor",
        abstract: "A Kaspa P2P network sensor: accepts peers, labels them public or private, records every event.",
        version: "0.1.0",
        subcommands: [
            RunCommand.self, VerifyCommand.self, CheckConfigCommand.self, CrawlCommand.self, ReportCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}
