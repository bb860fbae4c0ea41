#!/usr/bin/env python3
"""TCP connect probes, all at once: one JSON line per target.

    tcp_probe.py [--timeout S] HOST:PORT ...     ([v6]:port for IPv6)

result: "open" (handshake completed; closed again at once), "refused" (RST, or
ICMP port unreachable from a REJECT rule), "timeout" (no answer within --timeout:
a DROP), "unreachable" (no route / ICMP host or net unreachable), or "error".
Used by the lab's selftest from inside a namespace; it dials only what it is given.
"""

import argparse
import errno
import json
import socket
import sys
import threading
import time

RESULTS = {
    errno.ECONNREFUSED: "refused",
    errno.ETIMEDOUT: "timeout",
    errno.ENETUNREACH: "unreachable",
    errno.EHOSTUNREACH: "unreachable",
}


def probe(target: str, timeout: float) -> dict:
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    start = time.monotonic()
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host, int(port)))
        result, code = "open", 0
    except socket.timeout:
        result, code = "timeout", errno.ETIMEDOUT
    except OSError as e:
        result, code = RESULTS.get(e.errno, "error"), e.errno
    finally:
        sock.close()
    return {"target": target, "result": result, "errno": code,
            "error": errno.errorcode.get(code) if code else None,
            "elapsed_ms": round((time.monotonic() - start) * 1000, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("targets", nargs="+", metavar="HOST:PORT")
    args = parser.parse_args()
    out = [None] * len(args.targets)

    def run(i: int, target: str) -> None:
        out[i] = probe(target, args.timeout)

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(args.targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for record in out:
        print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
