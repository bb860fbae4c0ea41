import KaspaP2P
import TestSupport

/// A small simulated network for the command-line tests, on 127.66.`block`.x:16111: node i's book holds nodes
/// i+1 and i+2 (so a crawl from node 0 reaches all), and every third node's book also holds the sensor address
/// 127.50.0.1:16111. One RequestAddresses round per node gives exact shares: 4 of 12 nodes, 33.33%.
struct RingNetwork {
    static let sensorIP = "127.50.0.1"
    let count: Int
    let block: Int

    func address(_ index: Int) -> PeerAddress {
        PeerAddress("127.66.\(block).\(index + 1):16111")!
    }

    var nodes: [SimulatedNetwork.Node] {
        (0..<count).map { index in
            var book = [1, 2].map { address((index + $0) % count).description }
            if index % 3 == 0 { book.append("\(Self.sensorIP):16111") }
            return SimulatedNetwork.Node(
                listen: [address(index)], id: String(format: "%032x", 0x6600 + block * 256 + index), book: book)
        }
    }

    /// Every edge a complete crawl must find, as `advertiser -> advertised`.
    var edges: Set<String> {
        Set(nodes.flatMap { node in node.book.map { "\(node.listen[0]) -> \($0)" } })
    }
}
