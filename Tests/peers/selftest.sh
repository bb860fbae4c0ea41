#!/usr/bin/env bash
# Self-test for kaspa_peer.py: its client against its own server (and tcp-sink and
# node) on loopback, checking exit codes and the JSON events. Proves the peer itself
# before the Swift tests trust it to judge the sensor.
#
#   pip install -r Tests/peers/requirements.txt
#   bash Tests/peers/selftest.sh            # ends with "N passed, M failed"
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
PEER="$HERE/kaspa_peer.py"
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kaspa-peer-selftest.XXXXXX")
SERVER_PIDS=()
PASSED=0
FAILED=0

cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! "$PY" -c 'import grpc, grpc_tools' 2>/dev/null; then
    echo "grpcio/grpcio-tools missing: pip install -r $HERE/requirements.txt" >&2
    exit 1
fi

pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() {
    FAILED=$((FAILED + 1)); echo "FAIL $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/    | /' "$2" | cut -c1-240
}

# wait_for_port LOGFILE -> prints the port from the first {"event":"listening"} line.
wait_for_port() {
    local log=$1 i
    for i in $(seq 1 150); do
        if [ -s "$log" ]; then
            "$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["port"])' "$log" \
                2>/dev/null && return 0
        fi
        sleep 0.1
    done
    return 1
}

# start NAME SUBCOMMAND ARGS... : run a listener in the background; sets PORT.
start() {
    local name=$1; shift
    "$PY" "$PEER" "$@" --listen 127.0.0.1:0 >"$WORK/$name.log" 2>"$WORK/$name.err" &
    SERVER_PIDS+=($!)
    PORT=$(wait_for_port "$WORK/$name.log") || { echo "cannot start $name" >&2; cat "$WORK/$name.err" >&2; exit 1; }
}

# events FILE EXPR : EXPR is Python over `ev` (all events) with helpers
#   has(name, **fields), first(name, **fields), idx(name), every(name, **fields),
#   closed_for(user_agent) (the server's stream_closed of the stream whose peer sent
#   that user agent) and done (the final done event).
# Also fails if any stdout line is not a JSON object.
events() {
    "$PY" - "$1" "$2" <<'EOF'
import json, sys
ev = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
assert all(isinstance(e, dict) and "event" in e for e in ev)
def every(name, **kw):
    return [e for e in ev if e["event"] == name and all(e.get(k) == v for k, v in kw.items())]
def has(name, **kw):
    return bool(every(name, **kw))
def first(name, **kw):
    return next(iter(every(name, **kw)), None)
def idx(name):
    return next((i for i, e in enumerate(ev) if e["event"] == name), -1)
def closed_for(user_agent):
    probe = first("probe_accepted", user_agent=user_agent)
    return probe and first("stream_closed", stream=probe["stream"])
done = ev[-1] if ev and ev[-1]["event"] == "done" else {}
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
EOF
}

# check NAME FILE EXPR : pass if `events FILE EXPR` holds within 5 s (a listener's log
# is written while it runs, e.g. stream_closed a moment after the client exited).
check() {
    local name=$1 file=$2 expr=$3 i
    for i in $(seq 1 50); do
        if events "$file" "$expr" 2>/dev/null; then pass "$name"; return; fi
        sleep 0.1
    done
    fail "$name" "$file"
}

# client NAME WANT_RC EXPR ARGS... : run the client, check exit code and events.
client() {
    local name=$1 want=$2 expr=$3; shift 3
    local out="$WORK/client-$name.out"
    "$PY" "$PEER" client "$@" >"$out" 2>"$WORK/client-$name.err"
    local rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name (exit $rc, want $want)" "$out"
    elif ! events "$out" "$expr"; then
        fail "$name (events)" "$out"
    else
        pass "$name"
    fi
}

# ---------------------------------------------------------------- mainnet node
start node server --addresses '1.2.3.4:16111,[2001:db8::1]:16111'
NODE=127.0.0.1:$PORT

client node 0 '
    done["ok"] and has("headers_received") and first("version_received")["network"] == "kaspa-mainnet"
    and len(first("version_received")["id"]) == 32
    and has("verack_received") and has("ready_received")
    and has("addresses_received", count=2, addresses=["1.2.3.4:16111", "[2001:db8::1]:16111"])
    and first("pong_received")["matches"] and has("stream_closed", code="OK")
    and idx("headers_received") < idx("version_sent")' \
    --target "$NODE"

# A user agent this long and repetitive is what it takes for grpcio to send the
# Version as a gzip frame (it skips compression unless the result is smaller).
client node-gzip-version 0 '
    done["ok"] and first("version_sent")["gzip_frame"] and has("ready_received")' \
    --target "$NODE" --user-agent "/kaspad:2.0.1/kaspad:2.0.1(kaspa-test-peer; kaspa-test-peer)/"

client wait-for-version 0 '
    done["ok"] and idx("version_received") < idx("version_sent") < idx("verack_sent")' \
    --target "$NODE" --wait-for-version

client wrong-network 0 '
    done["ok"] and "kaspa-mainnet" in first("reject_received")["reason"]
    and "kaspa-testnet-10" in first("reject_received")["reason"]
    and idx("reject_received") < idx("stream_closed") and not has("ready_received")' \
    --target "$NODE" --scenario wrong-network

client node-expecting-reject-fails 1 '
    not done["ok"] and "expected a Reject" in done["error"]' \
    --target "$NODE" --expect-reject DUPLICATE_CONNECTION

client silent 0 '
    done["ok"] and has("version_received") and not has("version_sent")
    and has("reject_received", reason="timeout expired after 4s")' \
    --target "$NODE" --scenario silent --timeout 8

client garbage 0 'done["ok"] and has("raw_sent", hex="ffffffff") and has("stream_closed")' \
    --target "$NODE" --scenario garbage

# Our server acts like a node, and a node drops a peer that sends an unknown
# payload, so this scenario must report failure here (the sensor should pass it).
client unknown-payload-dropped-by-node 1 '
    not done["ok"] and has("raw_sent", hex="fa03020801") and has("stream_closed")' \
    --target "$NODE" --scenario unknown-payload

client flood-invs 0 'done["ok"] and has("invs_sent", count=500) and first("pong_received")["matches"]' \
    --target "$NODE" --scenario flood-invs --count 500

client oversized-accepted 0 '
    done["ok"] and first("version_sent")["bytes"] > 5 * 2**20 and first("version_sent")["gzip_frame"]
    and has("ready_received")' \
    --target "$NODE" --scenario oversized --size-mb 5 --expect accept

client no-gzip-advertise-hold 0 '
    done["ok"] and not any(e.get("gzip_frame") for e in ev)' \
    --target "$NODE" --no-gzip --advertise '[2001:db8::5]:16111' --hold-seconds 1

# The sensor harvests what a peer answers to its RequestAddresses: --addresses sends
# the entries as given (an IPv4-mapped IPv6 one as 16 bytes, port 0 as 0).
client answers-addresses 0 'done["ok"] and has("addresses_sent", count=3)' \
    --target "$NODE" --addresses '1.2.3.4:16111,[::ffff:5.6.7.8]:16112,9.9.9.9:0' --hold-seconds 0.5

if events "$WORK/node.log" '
    has("addresses_received", count=3, addresses=["1.2.3.4:16111", "[::ffff:5.6.7.8]:16112", "9.9.9.9:0"])'; then
    pass "answers-addresses-server-log"
else
    fail "answers-addresses-server-log" "$WORK/node.log"
fi

if events "$WORK/node.log" '
    has("probe_accepted", address="[2001:db8::5]:16111") and has("addresses_sent", count=2, gzip_frame=False)
    and has("decode_error") and has("protocol_violation", reason="envelope without a known payload")
    and has("reject_sent", reason="timeout expired after 4s")'; then
    pass "server-log"
else
    fail "server-log" "$WORK/node.log"
fi

# ---------------------------------------------------------------- testnet node
start testnet server --network kaspa-testnet-10
TESTNET=127.0.0.1:$PORT

client mainnet-peer-rejected-by-testnet 1 '
    first("reject_received")["reason"] == "Network mismatch - local: kaspa-testnet-10, remote: kaspa-mainnet"
    and "peer rejected us" in done["error"]' \
    --target "$TESTNET"

client wrong-network-vs-testnet 0 'done["ok"] and has("reject_received")' \
    --target "$TESTNET" --scenario wrong-network --network kaspa-mainnet

client testnet-node 0 'done["ok"] and first("version_received")["network"] == "kaspa-testnet-10"' \
    --target "$TESTNET" --network kaspa-testnet-10

# ---------------------------------------------------------------- full/duplicate node
start full server --reject-after-version DUPLICATE_CONNECTION
FULL=127.0.0.1:$PORT

client reject-after-version 1 '
    has("version_received") and has("reject_received", reason="DUPLICATE_CONNECTION")
    and not has("ready_received") and "DUPLICATE_CONNECTION" in done["error"]' \
    --target "$FULL"

client reject-after-version-expected 0 'done["ok"] and has("stream_closed")' \
    --target "$FULL" --expect-reject DUPLICATE_CONNECTION

# ---------------------------------------------------------------- slow (busy) node
start slow server --version-delay 1.5
SLOW=127.0.0.1:$PORT

# ---------------------------------------------------------------- small receive limit
start small server --max-message-mb 4
client oversized-refused 0 '
    done["ok"] and first("stream_closed")["code"] == "RESOURCE_EXHAUSTED"' \
    --target "127.0.0.1:$PORT" --scenario oversized --size-mb 5

# ---------------------------------------------------------------- TCP open, no Kaspa
start sink tcp-sink
client tcp-sink 1 '
    not done["ok"] and "no response headers within 2s" in done["error"]' \
    --target "127.0.0.1:$PORT" --headers-timeout 2
if events "$WORK/sink.log" 'has("connection_accepted")'; then pass "tcp-sink-log"; else fail "tcp-sink-log" "$WORK/sink.log"; fi

client refuses-non-loopback 1 '"non-loopback" in done["error"]' --target 192.0.2.1:16111

# ---------------------------------------------------------------- server exits
start once server --max-streams 1
ONCE_PID=${SERVER_PIDS[-1]}
client max-streams-client 0 'done["ok"]' --target "127.0.0.1:$PORT"
for _ in $(seq 1 50); do kill -0 "$ONCE_PID" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$ONCE_PID" 2>/dev/null && events "$WORK/once.log" 'done["ok"] and done["streams"] == 1'; then
    pass "max-streams-exit"
else
    fail "max-streams-exit" "$WORK/once.log"
fi

# ---------------------------------------------------------------- listen semantics
# 0.0.0.0 is IPv4 only, like rusty-kaspa's default (C-core alone would bind [::]).
start v4any server --listen 0.0.0.0:0
V4ANY_PORT=$PORT
check listen-any-v4-bound "$WORK/v4any.log" '
    "127.0.0.1:'$V4ANY_PORT'" in first("listening")["bound"]
    and not any(b.startswith("[") for b in first("listening")["bound"])'
client listen-any-v4-over-v4 0 'done["ok"]' --target "127.0.0.1:$V4ANY_PORT"
client listen-any-v4-not-over-v6 1 'not done["ok"] and not has("version_received")' \
    --target "[::1]:$V4ANY_PORT" --headers-timeout 2 --timeout 2
# A port in use makes the second listener fail (no SO_REUSEPORT sharing).
"$PY" "$PEER" server --listen "127.0.0.1:$V4ANY_PORT" --lifetime-seconds 1 >"$WORK/inuse.log" 2>/dev/null
rc=$?
if [ "$rc" = 1 ] && events "$WORK/inuse.log" '"cannot listen" in done["error"]'; then
    pass "listen-port-in-use"
else
    fail "listen-port-in-use (exit $rc)" "$WORK/inuse.log"
fi

# ---------------------------------------------------------------- node: one id, both roles
# A node listens and dials $NODE with one fixed id; a client dialing the node's server
# must see that id too. Its server sends Version 1 s late (--version-delay).
NODE_ID=00112233445566778899aabbccddeeff
start node1 node --dial "$NODE" --id-hex "$NODE_ID" --version-delay 1 --address-requests 2 \
    --advertise 127.0.0.1:16111
NODE1_PORT=$PORT
NODE1_PID=${SERVER_PIDS[-1]}
check node-client-done "$WORK/node1.log" '
    first("client_done")["ok"] and first("client_done")["role"] == "client"
    and first("version_sent", role="client")["id"] == "'$NODE_ID'"
    and first("listening")["role"] == "server" and first("listening")["id"] == "'$NODE_ID'"
    and len(every("addresses_received", role="client")) == 2'
check node-client-seen-by-server "$WORK/node.log" '
    has("probe_accepted", id="'$NODE_ID'", address="127.0.0.1:16111")'
client node-server-same-id 0 '
    done["ok"] and first("version_received")["id"] == "'$NODE_ID'"
    and first("version_received")["address"] == "127.0.0.1:16111"
    and first("version_received")["t_ms"] - first("headers_received")["t_ms"] >= 1000
    and idx("version_received") < idx("verack_received")' \
    --target "127.0.0.1:$NODE1_PORT" --user-agent /to-node/
kill -TERM "$NODE1_PID"
wait "$NODE1_PID"
rc=$?
if [ "$rc" = 0 ] && events "$WORK/node1.log" '
        done["ok"] and done["id"] == "'$NODE_ID'" and done["streams"] == 1 and "role" not in done
        and all(e.get("role") in ("client", "server") for e in ev[:-1])
        and first("version_sent", role="server")["id"] == "'$NODE_ID'"
        and first("stream_opened", role="server")["peer_ip"] == "127.0.0.1"
        and closed_for("/to-node/")["role"] == "server"
        and closed_for("/to-node/")["peer_ended"] == "end_stream"'; then
    pass "node-sigterm-events"
else
    fail "node-sigterm-events (exit $rc)" "$WORK/node1.log"
fi

# Without --id-hex: one random id, still the same in both roles.
start node2 node --dial "$NODE"
NODE2_PID=${SERVER_PIDS[-1]}
check node-random-id-client "$WORK/node2.log" 'first("client_done")["ok"]'
client node-random-id-server 0 'done["ok"]' --target "127.0.0.1:$PORT" --user-agent /to-node2/
kill -TERM "$NODE2_PID"
wait "$NODE2_PID"
check node-random-id "$WORK/node2.log" '
    len({first("listening")["id"], first("version_sent", role="client")["id"],
         first("version_sent", role="server")["id"]}) == 1 and len(first("listening")["id"]) == 32'

# Like rusty-kaspa, a node refuses a second peer with the same (id, IP) as one it is
# connected to: a dial-back reusing the id of the connection the node holds.
SENSOR_ID=0000000000000000000000000000abcd
start sensorlike server --id-hex "$SENSOR_ID"
SENSORLIKE=127.0.0.1:$PORT
start node3 node --dial "$SENSORLIKE" --hold-seconds 30
NODE3_PID=${SERVER_PIDS[-1]}
NODE3=127.0.0.1:$PORT
check node-dup-held "$WORK/node3.log" 'has("ready_received", role="client") and has("pong_received", role="client")'
client node-duplicate-rejected 0 '
    done["ok"] and has("version_received") and not has("ready_received")' \
    --target "$NODE3" --id-hex "$SENSOR_ID" --expect-reject DUPLICATE_CONNECTION
client node-other-id-accepted 0 'done["ok"]' --target "$NODE3"
kill -TERM "$NODE3_PID"
wait "$NODE3_PID" 2>/dev/null

# node_run NAME WANT_RC EXPR ARGS... : run a node to completion, check exit code and events.
node_run() {
    local name=$1 want=$2 expr=$3; shift 3
    local out="$WORK/node-$name.out"
    "$PY" "$PEER" node "$@" >"$out" 2>"$WORK/node-$name.err"
    local rc=$?
    if [ "$rc" != "$want" ]; then fail "$name (exit $rc, want $want)" "$out"
    elif ! events "$out" "$expr"; then fail "$name (events)" "$out"
    else pass "$name"; fi
}
# A node that does not listen exits when its client is done, with the client's verdict.
node_run node-no-listen 0 '
    done["ok"] and first("listening")["port"] is None and first("client_done")["ok"]' \
    --dial "$NODE" --lifetime-seconds 60
node_run node-client-fails 1 '
    not done["ok"] and "DUPLICATE_CONNECTION" in done["error"] and not first("client_done")["ok"]' \
    --dial "$FULL"
node_run node-refuses-non-loopback 1 '"non-loopback" in done["error"]' --dial 192.0.2.1:16111
node_run node-allow-remote-loopback 0 'done["ok"]' --dial "$NODE" --allow-remote
node_run node-lifetime 0 '
    done["ok"] and first("client_done")["ok"] and len(first("listening")["ports"]) == 2
    and 1500 <= done["t_ms"] < 6000' \
    --dial "$NODE" --listen 127.0.0.1:0 --listen '[::1]:0' --lifetime-seconds 1.5

# ---------------------------------------------------------------- simulated network
# kaspa_network.py: two nodes on their own 127.x addresses with known books, and a
# silent one. A dialer's Version.address enters the book (address_added) before the
# node answers RequestAddresses with the book, after --answer-delay-ms.
cat >"$WORK/network.json" <<'JSON'
{"network": "kaspa-mainnet", "nodes": [
  {"listen": ["127.66.9.1:16111"], "id": "000000000000000000000000000066a1",
   "book": ["127.66.9.2:16111", "[::ffff:127.66.9.3]:16111"]},
  {"listen": ["127.66.9.2:16111"], "id": "000000000000000000000000000066a2", "book": ["127.66.9.1:16111"]},
  {"listen": ["127.66.9.3:16111"], "id": "000000000000000000000000000066a3", "kind": "silent"}]}
JSON
"$PY" "$HERE/kaspa_network.py" --spec "$WORK/network.json" --answer-delay-ms 300 \
    >"$WORK/network.log" 2>"$WORK/network.err" &
SERVER_PIDS+=($!)
wait_for_port "$WORK/network.log" >/dev/null || { echo "cannot start kaspa_network.py" >&2; cat "$WORK/network.err" >&2; exit 1; }
START_MS=$(date +%s%3N)
client network-node 0 '
    done["ok"] and first("version_received")["id"] == "000000000000000000000000000066a1"
    and has("addresses_received", count=3,
            addresses=["127.66.9.2:16111", "[::ffff:127.66.9.3]:16111", "127.50.0.9:16111"])' \
    --target 127.66.9.1:16111 --advertise 127.50.0.9:16111
if [ $(( $(date +%s%3N) - START_MS )) -ge 300 ]; then pass "network-answer-delay"; else fail "network-answer-delay"; fi
if events "$WORK/network.log" '
    first("listening")["nodes"] == 3
    and has("address_added", node="127.66.9.1:16111", address="127.50.0.9:16111")'; then
    pass "network-address-added"
else
    fail "network-address-added" "$WORK/network.log"
fi
client network-silent-node 1 'not done["ok"]' --target 127.66.9.3:16111 --headers-timeout 1
echo '{"nodes": [{"listen": ["192.0.2.1:16111"], "id": "00000000000000000000000000000001"}]}' >"$WORK/remote.json"
"$PY" "$HERE/kaspa_network.py" --spec "$WORK/remote.json" >"$WORK/remote.log" 2>&1
rc=$?
if [ "$rc" = 1 ] && events "$WORK/remote.log" '"non-loopback" in done["error"]'; then
    pass "network-non-loopback-refused"
else
    fail "network-non-loopback-refused (exit $rc)" "$WORK/remote.log"
fi

# ---------------------------------------------------------------- server details
# A decoding server for the no-address forms, RequestAddresses rounds and how peers end.
start decode server --version-timeout 1.5
DECODE=127.0.0.1:$PORT

client version-delay 0 '
    done["ok"] and first("version_received")["t_ms"] - first("headers_received")["t_ms"] >= 1500
    and idx("version_received") < idx("verack_received")' \
    --target "$SLOW"

# --advertise: 4 bytes for IPv4, 16 for IPv6 incl. IPv4-mapped, port 0 kept.
client advertise-unspec4 0 'done["ok"] and first("version_sent")["address_ip_hex"] == "00000000"' \
    --target "$DECODE" --advertise 0.0.0.0:0 --user-agent /unspec4/
client advertise-unspec6 0 'done["ok"]' --target "$DECODE" --advertise '[::]:0' --user-agent /unspec6/
# Go kaspad v0.12: protocol 5 and ::ffff:0.0.0.0 port 0 (our server, like a node, refuses 5).
client advertise-go-unspec 0 'done["ok"]' --target "$DECODE" --advertise '[::ffff:0.0.0.0]:0' \
    --protocol-version 5 --user-agent /go-unspec/ --expect-reject "version mismatch - local: 10, remote: 5"
client advertise-mapped 0 'done["ok"]' --target "$DECODE" --advertise '[::ffff:1.2.3.4]:16111' \
    --user-agent /mapped/
client advertise-v4 0 'done["ok"]' --target "$DECODE" --advertise 1.2.3.4:16111 --user-agent /v4/
check advertise-decoded "$WORK/decode.log" '
    first("probe_accepted", user_agent="/unspec4/")["address_ip_hex"] == "00000000"
    and first("probe_accepted", user_agent="/unspec4/")["address_port"] == 0
    and first("probe_accepted", user_agent="/unspec4/")["address"] == "0.0.0.0:0"
    and first("probe_accepted", user_agent="/unspec6/")["address_ip_hex"] == "00" * 16
    and first("probe_accepted", user_agent="/unspec6/")["address"] == "[::]:0"
    and first("probe_accepted", user_agent="/go-unspec/")["address_ip_hex"] == "00" * 10 + "ffff00000000"
    and first("probe_accepted", user_agent="/go-unspec/")["address"] == "[::ffff:0.0.0.0]:0"
    and first("probe_accepted", user_agent="/go-unspec/")["protocol_version"] == 5
    and first("probe_accepted", user_agent="/mapped/")["address_ip_hex"] == "00" * 10 + "ffff01020304"
    and first("probe_accepted", user_agent="/mapped/")["address_port"] == 16111
    and first("probe_accepted", user_agent="/v4/")["address_ip_hex"] == "01020304"'

# Every RequestAddresses gets one Addresses (rusty-kaspa's SendAddressesFlow loops),
# from our server and from kaspa_network.py's nodes.
client address-rounds 0 'done["ok"] and len(every("addresses_received")) == 3' \
    --target "$DECODE" --address-requests 3 --user-agent /rounds/
check address-rounds-server "$WORK/decode.log" '
    len(every("request_addresses_received", stream=first("probe_accepted", user_agent="/rounds/")["stream"])) == 3
    and closed_for("/rounds/")["addresses_answered"] == 3'
client network-address-rounds 0 'done["ok"] and len(every("addresses_received", count=3)) == 2' \
    --target 127.66.9.1:16111 --address-requests 2

# How the peer ended each stream: END_STREAM (half-close), RST_STREAM (cancel), the
# process killed (connection lost), and streams we ended (a Reject, a Version timeout).
client end-half-close 0 'done["ok"]' --target "$DECODE" --user-agent /half/
client end-cancel 0 'done["ok"] and has("stream_closed", code="CANCELLED", local=True)' \
    --target "$DECODE" --user-agent /cancel/ --close cancel
"$PY" "$PEER" client --target "$DECODE" --user-agent /killed/ --hold-seconds 30 >"$WORK/killed.out" 2>&1 &
KILLED_PID=$!
for _ in $(seq 1 100); do grep -q pong_received "$WORK/killed.out" && break; sleep 0.1; done
kill -KILL "$KILLED_PID"; wait "$KILLED_PID" 2>/dev/null
client end-silent 0 'done["ok"]' --target "$DECODE" --scenario silent --timeout 5
check peer-ended "$WORK/decode.log" '
    closed_for("/half/")["peer_ended"] == "end_stream" and closed_for("/half/")["code"] == "OK"
    and closed_for("/half/")["handshake_completed"] and closed_for("/half/")["peer_ready_received"]
    and closed_for("/half/")["addresses_answered"] == 1 and "local" not in closed_for("/half/")
    and closed_for("/cancel/")["peer_ended"] == "cancelled" and closed_for("/cancel/")["code"] == "CANCELLED"
    and closed_for("/cancel/")["handshake_completed"]
    and closed_for("/killed/")["peer_ended"] == "cancelled"
    and closed_for("/go-unspec/")["peer_ended"] == "server" and closed_for("/go-unspec/")["local"]
    and not closed_for("/go-unspec/")["handshake_completed"]
    and closed_for("/go-unspec/")["reject_sent"].startswith("P2P protocol version mismatch")
    and has("stream_closed", reject_sent="timeout expired after 1.5s", peer_ended="server",
            handshake_completed=False, peer_version_received=False)'

# A dialer that sends Reject and then half-closes / resets (e.g. a sensor ending its
# dial-back with Reject DUPLICATE_CONNECTION): the server reports both.
reject_then() {
    "$PY" - "$DECODE" "$1" "$PEER" <<'EOF'
import asyncio, os, sys
import grpc, grpc.aio
sys.path.insert(0, os.path.dirname(sys.argv[3]))
import kaspa_peer as kp
async def main(target, mode):
    wire = kp.Wire(kp.load_protowire())
    me = kp.LocalIdentity("kaspa-mainnet", 10, f"/reject-{mode}/", bytes(range(16)))
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.stream_stream(kp.METHOD)()
        await call.initial_metadata()
        await call.write(wire.version(me).SerializeToString())
        await call.read()  # the server's Version
        await call.write(wire.reject("DUPLICATE_CONNECTION").SerializeToString())
        if mode == "half":
            await call.done_writing()
            while await call.read() is not grpc.aio.EOF:
                pass
        else:
            await asyncio.sleep(0.05)
            call.cancel()
            await asyncio.sleep(0.3)
asyncio.run(main(sys.argv[1], sys.argv[2]))
EOF
}
reject_then half && reject_then cancel
check peer-reject-then-close "$WORK/decode.log" '
    closed_for("/reject-half/")["peer_ended"] == "end_stream"
    and closed_for("/reject-half/")["reject_received"] == "DUPLICATE_CONNECTION"
    and not closed_for("/reject-half/")["handshake_completed"]
    and closed_for("/reject-cancel/")["peer_ended"] == "cancelled"
    and closed_for("/reject-cancel/")["reject_received"] == "DUPLICATE_CONNECTION"'

NODE_PID=${SERVER_PIDS[0]}
kill -TERM "$NODE_PID"
wait "$NODE_PID"
rc=$?
if [ "$rc" = 0 ] && events "$WORK/node.log" 'done["ok"]'; then pass "sigterm"; else fail "sigterm (exit $rc)" "$WORK/node.log"; fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
