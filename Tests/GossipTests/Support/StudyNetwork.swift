import Foundation
import KaspaP2P
import TestSupport

/// The network of the phase-3 tests, built so every answer is known:
///
/// * 240 nodes on 127.77.x.y:16111 (node 0 also listens on 127.77.9.1 with the same id: one peer, two addresses);
/// * node i's book: nodes i+1, i+2 and i+7 (so everything is reachable from node 0), node 0's twin for node 5,
///   node i+3 in the IPv4-mapped
///   IPv6 form for every fifth node (it must be stored as IPv4), one refused address for every eighth node and
///   one silent address for every thirtieth;
/// * sensor A (127.50.0.1) is in the books of nodes with i % 4 == 0 (60 of 240 peers: 25.00%), sensor B
///   (127.50.0.2) in those with i % 10 == 3 (24 of 240: 10.00%), sensor C (127.50.0.3) in none.
enum StudyNetwork {
    static let count = 240
    static let sensorA = "127.50.0.1"
    static let sensorB = "127.50.0.2"
    static let sensorC = "127.50.0.3"

    static func address(_ index: Int) -> PeerAddress {
        PeerAddress("127.77.\(index / 200).\(index % 200 + 1):16111")!
    }

    static let twin = PeerAddress("127.77.9.1:16111")!
    static let refused = (0..<count / 8).map { PeerAddress("127.78.0.\($0 + 1):16111")! }
    static let silent = (0..<count / 30).map { PeerAddress("127.79.0.\($0 + 1):16111")! }

    static func nodes() -> [SimulatedNetwork.Node] {
        var nodes = (0..<count).map { index -> SimulatedNetwork.Node in
            var book = [1, 2, 7].map { address((index + $0) % count).description }
            if index % 5 == 0 { book.append("[::ffff:\(address((index + 3) % count).ip)]:16111") }
            if index % 8 == 0 { book.append(refused[index / 8].description) }
            if index % 30 == 0 { book.append(silent[index / 30].description) }
            if index == 5 { book.append(twin.description) }
            if index % 4 == 0 { book.append("\(sensorA):16111") }
            if index % 10 == 3 { book.append("\(sensorB):16111") }
            return SimulatedNetwork.Node(
                listen: index == 0 ? [address(0), twin] : [address(index)],
                id: String(format: "%032x", index + 1), book: book)
        }
        nodes += silent.map {
            SimulatedNetwork.Node(listen: [$0], id: String(repeating: "f", count: 32), book: [], silent: true)
        }
        return nodes
    }

    /// The edges a complete crawl must find: every reachable address to each canonical entry of its node's book.
    static func expectedEdges(_ nodes: [SimulatedNetwork.Node]) -> Set<String> {
        var edges: Set<String> = []
        for node in nodes where !node.silent {
            for listen in node.listen {
                for entry in node.book {
                    let canonical = PeerAddress(entry)!.description
                    edges.insert("\(listen) -> \(canonical)")
                }
            }
        }
        return edges
    }
}
