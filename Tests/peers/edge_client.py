#!/usr/bin/env python3
"""Hostile-edge client for kaspa-sensor tests: raw TCP connections and raw HTTP/2 streams.

Independent of the sensor's code (plain sockets and the `h2` library), it opens what a
flooding or misbehaving source opens and reports, as one JSON line on stdout, what the
server did with each connection or stream. Loopback sources (any 127.x address) are
bound explicitly, so one machine can stand for many sources.

  edge_client.py connections --target 127.0.0.1:16111 --source 127.20.0.1 --count 5 \
      [--preface] [--observe 2]
      -> {"opened": 5, "closed": 2, "open": 3, "closed_after_ms": [...]}
  edge_client.py streams --target 127.0.0.1:16111 --source 127.20.0.1 --connections 1 \
      --count 10 [--observe 3]
      -> {"accepted": 4, "reset": 6, "unanswered": 0, "per_connection": [[4, 6, 0]]}
  edge_client.py trickle --target 127.0.0.1:16111 --interval 0.2 [--observe 10]
      -> {"closed": true, "closed_after_ms": 712, "header_bytes": 93, "sent": 4}
  edge_client.py flood --target 127.0.0.1:16111 --kind settings|ping|rapid-reset --count 100000
      -> {"sent": 100000, "closed": true, "goaway": 11, "elapsed_ms": 930}

A stream counts as reset when the server sends RST_STREAM or ends it at once with a non-zero
grpc-status (a trailers-only refusal). `streams` writes everything it will ever send (preface, SETTINGS, all HEADERS) before it
reads a byte, so the server's SETTINGS is never acknowledged: its stream limit must hold
before the ACK.
"""

import argparse
import json
import select
import socket
import sys
import time
from typing import Optional

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def parse_target(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def open_connection(target: tuple[str, int], source: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(target)
    sock.setblocking(False)
    return sock


def open_h2(args) -> tuple[socket.socket, h2.connection.H2Connection]:
    """A TCP connection from `args.source` to `args.target` and an HTTP/2 client state whose preface and SETTINGS
    are queued (not yet sent)."""
    sock = open_connection(parse_target(args.target), args.source)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    return sock, conn


def closed_by_server(sock: socket.socket) -> bool:
    """Drain what is readable; True once the server closed or reset the connection."""
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True


def receive(sock: socket.socket) -> Optional[bytes]:
    """Bytes the server sent within the socket's timeout: None when nothing came, b"" once it closed."""
    try:
        return sock.recv(65536)
    except socket.timeout:
        return None
    except ConnectionResetError:
        return b""


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def cmd_connections(args) -> dict:
    target = parse_target(args.target)
    start = time.monotonic()
    socks = []
    for _ in range(args.count):
        sock = open_connection(target, args.source)
        if args.preface:
            sock.sendall(PREFACE + EMPTY_SETTINGS)
        socks.append(sock)
    closed_at: dict[int, float] = {}
    deadline = time.monotonic() + args.observe
    while time.monotonic() < deadline and len(closed_at) < len(socks):
        pending = [s for i, s in enumerate(socks) if i not in closed_at]
        readable, _, _ = select.select(pending, [], [], 0.05)
        for sock in readable:
            index = socks.index(sock)
            if closed_by_server(sock):
                closed_at[index] = time.monotonic()
    result = {
        "opened": len(socks),
        "closed": len(closed_at),
        "open": len(socks) - len(closed_at),
        "closed_after_ms": sorted(round((t - start) * 1000) for t in closed_at.values()),
    }
    for sock in socks:
        sock.close()
    return result


def request_headers(authority: str) -> list[tuple[str, str]]:
    return [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/protowire.P2P/MessageStream"),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("grpc-accept-encoding", "identity,gzip"),
    ]


def cmd_streams(args) -> dict:
    connections = []
    for _ in range(args.connections):
        sock, conn = open_h2(args)
        stream_ids = []
        for _ in range(args.count):
            stream_id = conn.get_next_available_stream_id()
            conn.send_headers(stream_id, request_headers(args.target), end_stream=False)
            stream_ids.append(stream_id)
        sock.setblocking(True)
        sock.sendall(conn.data_to_send())  # everything we will ever send, before reading anything
        sock.setblocking(False)
        connections.append({"sock": sock, "conn": conn, "streams": stream_ids, "answered": {}, "closed": False})
    deadline = time.monotonic() + args.observe
    while time.monotonic() < deadline:
        pending = [c for c in connections
                   if not c["closed"] and len(c["answered"]) < len(c["streams"])]
        if not pending:
            break
        readable, _, _ = select.select([c["sock"] for c in pending], [], [], 0.05)
        for entry in pending:
            if entry["sock"] not in readable:
                continue
            try:
                data = entry["sock"].recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                entry["closed"] = True
                continue
            for event in entry["conn"].receive_data(data):
                if isinstance(event, h2.events.StreamReset):
                    entry["answered"].setdefault(event.stream_id, "reset")
                elif isinstance(event, h2.events.ResponseReceived):
                    # A trailers-only answer with a non-zero grpc-status is a refusal; a session answers with
                    # 200 headers and its Version.
                    status = dict(event.headers).get("grpc-status")
                    outcome = "refused" if status not in (None, "0") else "accepted"
                    entry["answered"].setdefault(event.stream_id, outcome)
            entry["conn"].data_to_send()  # discarded: the server's SETTINGS stays unacknowledged
    per_connection = []
    for entry in connections:
        answers = list(entry["answered"].values())
        accepted = answers.count("accepted")
        reset = answers.count("reset") + answers.count("refused")
        per_connection.append([accepted, reset, len(entry["streams"]) - accepted - reset])
        entry["sock"].close()
    return {
        "accepted": sum(c[0] for c in per_connection),
        "reset": sum(c[1] for c in per_connection),
        "unanswered": sum(c[2] for c in per_connection),
        "per_connection": per_connection,
    }


def cmd_trickle(args) -> dict:
    """One connection: the preface and SETTINGS, then a request's HEADERS one byte per interval."""
    sock, conn = open_h2(args)
    sock.setblocking(True)
    sock.sendall(conn.data_to_send())
    conn.send_headers(conn.get_next_available_stream_id(), request_headers(args.target), end_stream=False)
    headers = conn.data_to_send()
    sock.setblocking(False)
    start = time.monotonic()
    sent = 0
    closed = False
    deadline = start + args.observe
    while time.monotonic() < deadline and not closed:
        if sent < len(headers):
            try:
                sock.send(headers[sent:sent + 1])
                sent += 1
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        readable, _, _ = select.select([sock], [], [], args.interval)
        if readable and closed_by_server(sock):
            closed = True
    result = {"closed": closed, "closed_after_ms": round((time.monotonic() - start) * 1000) if closed else None,
              "header_bytes": len(headers), "sent": sent}
    sock.close()
    return result


def cmd_flood(args) -> dict:
    """One connection flooding control frames: SETTINGS (each owed an ACK), PING (each owed a PING ACK) or rapid
    resets (HEADERS then RST_STREAM at once, the CVE-2023-44487 pattern). Sends in bursts while reading what the
    server answers (and acknowledging nothing), until `count` frames went out or the server closed."""
    sock, conn = open_h2(args)
    sock.setblocking(True)
    sock.sendall(conn.data_to_send())
    sock.settimeout(0.05)
    sent = 0
    goaway = None
    closed = False
    start = time.monotonic()
    deadline = start + args.observe
    while sent < args.count and not closed and time.monotonic() < deadline:
        burst = b""
        for _ in range(min(100, args.count - sent)):
            if args.kind == "settings":
                burst += b"\x00\x00\x06\x04\x00\x00\x00\x00\x00" + b"\x00\x04\x00\x01\x00\x00"
            elif args.kind == "ping":
                burst += b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + sent.to_bytes(8, "big")
            else:
                try:
                    stream_id = conn.get_next_available_stream_id()
                    conn.send_headers(stream_id, request_headers(args.target), end_stream=False)
                    conn.reset_stream(stream_id)
                except h2.exceptions.H2Error:
                    # The server's GOAWAY (or its stream limit) already arrived: the flood is over.
                    closed = True
                    break
                burst += conn.data_to_send()
            sent += 1
        try:
            sock.sendall(burst)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            closed = True
            break
        try:
            data = sock.recv(65536)
            if not data:
                closed = True
            else:
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.ConnectionTerminated):
                        goaway = int(event.error_code)
                conn.data_to_send()  # acknowledge nothing
        except socket.timeout:
            pass
        except (ConnectionResetError, h2.exceptions.ProtocolError):
            closed = True
    # Drain until the server closes or the observation ends.
    while not closed and time.monotonic() < deadline:
        data = receive(sock)
        if data is None:
            continue
        if not data:
            closed = True
            break
        try:
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ConnectionTerminated):
                    goaway = int(event.error_code)
        except h2.exceptions.ProtocolError:
            pass
    sock.close()
    return {"sent": sent, "closed": closed, "goaway": goaway,
            "elapsed_ms": round((time.monotonic() - start) * 1000)}


def cmd_message(args) -> dict:
    """One stream whose first gRPC message has a hand-made 5-byte prefix: `--declared-length` (up to 4 GiB - 1)
    and the compressed flag (`--compressed`, sent without any grpc-encoding header), followed by
    `--body-bytes` bytes. Reports how the server ended the stream."""
    sock, conn = open_h2(args)
    stream_id = conn.get_next_available_stream_id()
    conn.send_headers(stream_id, request_headers(args.target), end_stream=False)
    prefix = (b"\x01" if args.compressed else b"\x00") + args.declared_length.to_bytes(4, "big")
    body = prefix + b"\x0a" * args.body_bytes
    sock.setblocking(True)
    sock.sendall(conn.data_to_send())
    sock.settimeout(0.05)
    sent = 0
    outcome = {"status": None, "reset": None, "goaway": None, "closed": False}
    deadline = time.monotonic() + args.observe
    while time.monotonic() < deadline and outcome["status"] is None and outcome["reset"] is None \
            and not outcome["closed"]:
        if sent < len(body):
            window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size, len(body) - sent)
            if window > 0:
                conn.send_data(stream_id, body[sent:sent + window])
                sent += window
                try:
                    sock.sendall(conn.data_to_send())
                except (BrokenPipeError, ConnectionResetError):
                    outcome["closed"] = True
                    break
        data = receive(sock)
        if data is None:
            continue
        if not data:
            outcome["closed"] = True
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.StreamReset):
                outcome["reset"] = int(event.error_code)
            elif isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                status = dict(event.headers).get("grpc-status")
                if status is not None:
                    outcome["status"] = int(status)
                    outcome["message"] = dict(event.headers).get("grpc-message")
            elif isinstance(event, h2.events.ConnectionTerminated):
                outcome["goaway"] = int(event.error_code)
        try:
            sock.sendall(conn.data_to_send())
        except (BrokenPipeError, ConnectionResetError):
            outcome["closed"] = True
    sock.close()
    outcome["body_sent"] = sent
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("connections", "streams", "trickle", "flood", "message"):
        command = sub.add_parser(name)
        command.add_argument("--target", required=True, metavar="HOST:PORT")
        command.add_argument("--source", default="127.0.0.1", help="local address to bind (any 127.x)")
        command.add_argument("--count", type=int, default=1,
                             help="connections (connections) or streams per connection (streams)")
        command.add_argument("--observe", type=float, default=2.0, help="seconds to watch the answers")
    sub.choices["connections"].add_argument("--preface", action="store_true",
                                            help="send the HTTP/2 preface and an empty SETTINGS")
    sub.choices["streams"].add_argument("--connections", type=int, default=1)
    sub.choices["trickle"].add_argument("--interval", type=float, default=0.2,
                                        help="seconds between two bytes of the HEADERS frame")
    sub.choices["flood"].add_argument("--kind", choices=("settings", "ping", "rapid-reset"), required=True)
    sub.choices["message"].add_argument("--declared-length", type=int, required=True)
    sub.choices["message"].add_argument("--body-bytes", type=int, default=16)
    sub.choices["message"].add_argument("--compressed", action="store_true")
    args = parser.parse_args()
    if not args.target.startswith(("127.", "[::1]", "localhost")) and not args.target.startswith("198.51.100."):
        print("refusing a target outside loopback and the lab", file=sys.stderr)
        return 2
    commands = {
        "connections": cmd_connections, "streams": cmd_streams, "trickle": cmd_trickle, "flood": cmd_flood,
        "message": cmd_message,
    }
    result = commands[args.command](args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
