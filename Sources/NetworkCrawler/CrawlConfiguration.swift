public import KaspaP2P

/// How a crawl runs: whom to speak as, how hard to push, and when to stop.
public struct CrawlConfiguration: Sendable {
    /// The network to crawl.
    public var network: KaspaNetwork
    /// Our honest user agent, e.g. `/kaspa-sensor:0.1.0(crawler)/`.
    public var userAgent: String
    /// Visits at once.
    public var maxConcurrent = 32
    /// TCP connect timeout per node.
    public var connectTimeout: Duration = .seconds(5)
    /// The whole visit of one node (connect, handshake, address rounds, close).
    public var nodeTimeout: Duration = .seconds(20)
    /// RequestAddresses rounds per node at most (fewer when a round brings nothing new).
    public var addressRounds = 8
    /// Pause between two rounds to one node.
    public var roundSpacing: Duration = .milliseconds(250)
    /// Stop after this long (the crawl can be resumed); `nil` = until the reachable network is exhausted.
    public var budget: Duration?
    /// Never know more than this many addresses (a bound against gossip floods).
    public var maxNodes = 100_000
    /// Also dial loopback/private/non-routable addresses (tests, private networks).
    public var allowPrivateTargets = false

    /// Creates a configuration with the defaults.
    public init(network: KaspaNetwork, userAgent: String) {
        self.network = network
        self.userAgent = userAgent
    }
}
