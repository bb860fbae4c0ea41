import AddressBook
public import KaspaP2P

/// Self-announcement: dials a bounded number of known nodes with our external address in `Version.address`,
/// completes the handshake, answers their RequestAddresses (empty) and closes politely. A node adds an inbound
/// peer's `Version.address` to its address book (fact sheet §7.3), from where it is gossiped onward.
public struct Announcer: Sendable {
    /// Whom to dial and as whom.
    public struct Settings: Sendable {
        /// The address to announce.
        public var externalAddress: PeerAddress
        /// Nodes dialed per round at most.
        public var maxPeers = 8
        /// Nodes dialed first, trusted as given.
        public var configuredPeers: [PeerAddress] = []
        /// An address database whose recent addresses are candidates too.
        public var addressDatabase: String?
        /// Also resolve the network's DNS seeders for candidates.
        public var useDNSSeeds = false
        /// Visit settings (network, user agent, timeouts, private targets).
        public var visit: CrawlConfiguration

        /// Creates settings.
        public init(externalAddress: PeerAddress, visit: CrawlConfiguration) {
            self.externalAddress = externalAddress
            self.visit = visit
        }
    }

    /// The settings.
    public var settings: Settings
    /// The dialer.
    public var dialer: KaspaDialer

    /// Creates an announcer.
    public init(settings: Settings, dialer: KaspaDialer) {
        self.settings = settings
        self.dialer = dialer
    }

    /// One round: picks the candidates and visits them, all at once (at most `maxPeers`).
    public func announceOnce() async -> [NodeVisit] {
        let targets = await candidates()
        let visitor = NodeVisitor(
            dialer: dialer, configuration: settings.visit, advertisedAddress: settings.externalAddress)
        return await withTaskGroup(of: NodeVisit.self) { group in
            for target in targets {
                group.addTask { await visitor.visit(target) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// Configured peers first, then a random choice of dialable addresses from the database and the seeders.
    func candidates() async -> [PeerAddress] {
        var others: [PeerAddress] = []
        let allowPrivate = settings.visit.allowPrivateTargets
        if let path = settings.addressDatabase, let store = try? AddressStore(path: path) {
            others += (try? store.recentAddresses(limit: 1000)) ?? []
        }
        if settings.useDNSSeeds {
            others += await SeedResolver().resolve(
                settings.visit.network.dnsSeeders, defaultPort: settings.visit.network.defaultPort
            ).addresses
        }
        var seen: Set<PeerAddress> = [settings.externalAddress]
        let dialable = others.shuffled().filter { AddressCheck.dialRefusal($0, allowPrivate: allowPrivate) == nil }
        return (settings.configuredPeers + dialable).filter { seen.insert($0).inserted }.prefix(settings.maxPeers)
            .map { $0 }
    }
}
