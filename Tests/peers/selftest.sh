#!/usr/bin/env bash
# Self-test for kaspa_peer.py: its client against its own server (and tcp-sink) on
# loopback, checking exit codes and the JSON events. Proves the peer itself before
# the Swift tests trust it to judge the sensor.
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
#   has(name, **fields), first(name), idx(name) and done (the final done event).
# Also fails if any stdout line is not a JSON object.
events() {
    "$PY" - "$1" "$2" <<'EOF'
import json, sys
ev = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
assert all(isinstance(e, dict) and "event" in e for e in ev)
def has(name, **kw):
    return any(e["event"] == name and all(e.get(k) == v for k, v in kw.items()) for e in ev)
def first(name):
    return next((e for e in ev if e["event"] == name), None)
def idx(name):
    return next((i for i, e in enumerate(ev) if e["event"] == name), -1)
done = ev[-1] if ev and ev[-1]["event"] == "done" else {}
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
EOF
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
    has("addresses_received", count=3, addresses=["1.2.3.4:16111", "[::ffff:506:708]:16112", "9.9.9.9:0"])'; then
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
            addresses=["127.66.9.2:16111", "[::ffff:7f42:903]:16111", "127.50.0.9:16111"])' \
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

NODE_PID=${SERVER_PIDS[0]}
kill -TERM "$NODE_PID"
wait "$NODE_PID"
rc=$?
if [ "$rc" = 0 ] && events "$WORK/node.log" 'done["ok"]'; then pass "sigterm"; else fail "sigterm (exit $rc)" "$WORK/node.log"; fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
