import Foundation
import KaspaP2P
import NetworkCrawler
import Synchronization
import Testing

/// The seed resolver with a stub lookup: no real name is ever resolved.
@Suite("Seed resolution")
struct SeedResolverTests {
    @Test("A quick answer returns at once, long before the timeout; names take the given or the default port")
    func quickAnswer() async throws {
        let asked = Mutex<[String]>([])
        let resolver = SeedResolver(timeout: .seconds(5)) { host in
            asked.withLock { $0.append(host) }
            return .success([IPAddress("127.0.0.5")!, IPAddress("::1")!])
        }
        let started = ContinuousClock.now
        let result = await resolver.resolve(
            ["seed.example.test", "other.example.test:16999", "127.0.0.9", "[::1]:17000"], defaultPort: 16111)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(1), "took \(elapsed)")
        #expect(
            result.addresses.map(\.description) == [
                "127.0.0.5:16111", "[::1]:16111", "127.0.0.5:16999", "[::1]:16999", "127.0.0.9:16111", "[::1]:17000",
            ])
        #expect(result.failures.isEmpty)
        #expect(asked.withLock { $0 } == ["seed.example.test", "other.example.test"])  // literals are not looked up
    }

    @Test("A hanging lookup fails after the timeout, to the millisecond, and a failed one says why")
    func timeoutAndFailure() async throws {
        let resolver = SeedResolver(timeout: .milliseconds(150)) { host in
            if host == "hangs.example.test" { Thread.sleep(forTimeInterval: 3) }
            return .failure(ResolveFailure(message: "Name or service not known"))
        }
        let started = ContinuousClock.now
        let hanging = await resolver.resolve(["hangs.example.test"], defaultPort: 16111)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(150) && elapsed < .milliseconds(1500), "took \(elapsed)")
        #expect(hanging.addresses.isEmpty)
        #expect(hanging.failures == ["hangs.example.test: no answer within 0.15 seconds"])

        let failing = await resolver.resolve(["absent.example.test:16111"], defaultPort: 16111)
        #expect(failing.failures == ["absent.example.test:16111: Name or service not known"])
    }
}
