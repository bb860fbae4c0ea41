#!/usr/bin/env bash
# Self-test of the namespace lab without the Swift sensor: builds the lab under a
# random prefix, runs `kaspa_peer.py server --listen [::]:16111` in the sensor
# namespace as a stand-in sensor and a kaspa_peer.py node (one id, both roles) on the
# other hosts, then checks every host's ground truth from both sides: what reaches
# the stand-in (and from which address), and what the sensor namespace reaches back
# (kaspa_peer.py clients and plain TCP connects). Prints "N passed, M failed", always
# tears the lab down, exits non-zero on any failure. Needs root. 22-36 s here.
#
#   bash Tests/lab/selftest.sh          # KEEP=1 leaves the work directory for a look
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
NETLAB="$HERE/netlab.sh"
PEER="$HERE/../peers/kaspa_peer.py"
PROBE="$HERE/tcp_probe.py"
PY=${PYTHON:-python3}
P=kl$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
WORK=$(mktemp -d "${TMPDIR:-/tmp}/netlab-selftest.XXXXXX")
PIDS=()
PASSED=0
FAILED=0
START=$(date +%s)

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    wait 2>/dev/null
    "$NETLAB" down "$P"
    if [ -n "$(ip netns list | awk '{print $1}' | grep "^$P-")" ]; then
        echo "FAIL teardown: namespaces of $P left behind" >&2
    fi
    [ -n "${KEEP:-}" ] && echo "logs kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
"$PY" -c 'import grpc, grpc_tools' 2>/dev/null ||
    { echo "grpcio missing: pip install -r $HERE/../peers/requirements.txt" >&2; exit 1; }

pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() {
    FAILED=$((FAILED + 1)); echo "FAIL $1"
    local f
    for f in "${@:2}"; do [ -f "$f" ] && sed "s#^#    | $(basename "$f"): #" "$f" | cut -c1-260 | tail -25; done
}

# id_of HOST: the node id used on HOST (fixed, so both sides can be matched).
id_of() { printf '%s' "$1" | md5sum | cut -c1-32; }

# peer HOST NAME ARGS... : kaspa_peer.py in HOST's namespace, in the background.
peer() {
    local host=$1 name=$2; shift 2
    "$NETLAB" exec "$P" "$host" "$PY" "$PEER" "$@" >"$WORK/$name.log" 2>"$WORK/$name.err" &
    PIDS+=($!)
}

# node HOST ARGS... : the host's node: its id, dials the stand-in sensor over IPv4
# unless ARGS has its own --dial, listens where ARGS say.
node() {
    local host=$1; shift
    local dial=(--dial 198.51.100.1:16111)
    case " $* " in *" --dial "*) dial=() ;; esac
    peer "$host" "node-$host" node --id-hex "$(id_of "$host")" "${dial[@]}" --allow-remote \
        --hold-seconds 30 "$@"
}

# ev FILE EXPR : Python over the JSON events `ev` of FILE (see helpers below);
# SENSOR is the stand-in's log, with seen(host) = (peer_ip, probe) of the stream that
# carried HOST's id.
ev() {
    "$PY" - "$1" "$2" "$WORK/sensor.log" <<'PYEOF'
import hashlib, json, sys
def load(path):
    try:
        return [json.loads(l) for l in open(path) if l.strip()]
    except (OSError, ValueError):
        return []
ev, sensor = load(sys.argv[1]), load(sys.argv[3])
def every(name, events=None, **kw):
    return [e for e in (ev if events is None else events)
            if e["event"] == name and all(e.get(k) == v for k, v in kw.items())]
def first(name, events=None, **kw):
    return next(iter(every(name, events, **kw)), None)
def id_of(host):
    return hashlib.md5(host.encode()).hexdigest()[:32]
def seen(host):
    probe = first("probe_accepted", sensor, id=id_of(host))
    if probe is None:
        return None, None
    return first("stream_opened", sensor, stream=probe["stream"])["peer_ip"], probe
def version_delay_ms():
    return first("version_received")["t_ms"] - first("headers_received")["t_ms"]
done = ev[-1] if ev and ev[-1]["event"] == "done" else {}
try:
    ok = eval("(" + sys.argv[2] + ")")
except Exception as e:
    print(f"    check raised {e!r}", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
PYEOF
}

# wait_ev FILE EXPR SECONDS : until EXPR holds (returns 1 on timeout).
wait_ev() {
    local deadline=$(( $(date +%s%N) / 1000000 + $3 * 1000 ))
    until ev "$1" "$2" 2>/dev/null; do
        [ $(( $(date +%s%N) / 1000000 )) -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# check NAME FILE EXPR : one check on FILE's events.
check() {
    if ev "$2" "$3"; then pass "$1"; else fail "$1" "$2"; fi
}

# probe_is NAME TARGET RESULT [MAX_MS] : the TCP connect to TARGET from the sensor.
probe_is() {
    local expr="first(\"probe\", ev)[\"result\"] == \"$3\""
    [ -n "${4:-}" ] && expr="$expr and first(\"probe\", ev)[\"elapsed_ms\"] < $4"
    grep -F "\"target\": \"$2\"" "$WORK/probes.log" | sed 's/^{/{"event": "probe", /' >"$WORK/probe-$1.log"
    check "$1" "$WORK/probe-$1.log" "$expr"
}

# ---------------------------------------------------------------- build
ROOT_LINKS_BEFORE=$(ip -o link show | awk -F': ' '{print $2}' | sort)
if ! "$NETLAB" up "$P" >"$WORK/up.log" 2>&1; then
    fail "netlab up" "$WORK/up.log"
    echo "$PASSED passed, $FAILED failed"
    exit 1
fi
pass "netlab up $P"
if [ "$(ip -o link show | awk -F': ' '{print $2}' | sort)" = "$ROOT_LINKS_BEFORE" ]; then
    pass "root namespace untouched"
else
    fail "root namespace untouched"
fi

# Every namespace: lo up, no default route, forwarding only on routers.
bad=""
for host in wan $("$NETLAB" hosts | awk '{print $1}'); do
    ns="$P-$host"
    [ -z "$(ip -n "$ns" route show default)$(ip -n "$ns" -6 route show default)" ] || bad="$bad $host:default-route"
    ip -n "$ns" link show lo | grep -q 'state UNKNOWN\|UP' || bad="$bad $host:lo-down"
    fwd=$(ip netns exec "$ns" sysctl -n net.ipv4.ip_forward)
    case $host in
        rstnat|dropnat|twonat) [ "$fwd" = 1 ] || bad="$bad $host:no-forwarding" ;;
        *) [ "$fwd" = 0 ] || bad="$bad $host:forwarding" ;;
    esac
done
if [ -z "$bad" ]; then pass "namespaces: lo up, no default routes, forwarding on routers only"
else fail "namespaces:$bad"; fi

# ---------------------------------------------------------------- peers
# The stand-in sensor: dual stack, like a sensor on [::]:16111.
peer sensor sensor server --listen '[::]:16111' --allow-remote
wait_ev "$WORK/sensor.log" 'first("listening")' 20 || { fail "stand-in sensor" "$WORK/sensor.err"; exit 1; }

node pub --listen 0.0.0.0:16111 --advertise 198.51.100.10:16111
node rsthost --listen 0.0.0.0:16111
node drophost --listen 0.0.0.0:16111
node fwdrop --listen 0.0.0.0:16111
node fwreject --listen 0.0.0.0:16111
node rejecter --listen 0.0.0.0:16111 --reject-after-version "peer user agent rejected: /kaspa-test-peer:0.1/"
node otherport --listen 0.0.0.0:16222 --advertise 198.51.100.60:16222
node otherip --listen 0.0.0.0:16111 --advertise 198.51.100.71:16111
node v6pub --listen '[::]:16111' --dial '[2001:db8:1::1]:16111'
node v6drop --listen '[::]:16111' --dial '[2001:db8:1::1]:16111'
node v4only --listen 0.0.0.0:16111 --dial '[2001:db8:1::1]:16111'
node nata --listen 0.0.0.0:16111
node natb
node unspec --listen 0.0.0.0:16111 --advertise 0.0.0.0:0
node gounspec --listen 0.0.0.0:16111 --advertise '[::ffff:0.0.0.0]:0' --protocol-version 5 \
    --user-agent /kaspad:0.12.20/kaspad:0.12.20/
node slow --listen 0.0.0.0:16111 --version-delay 6
"$NETLAB" exec "$P" nonkaspa "$PY" -m http.server 16111 --bind 0.0.0.0 \
    >"$WORK/http.log" 2>&1 &
PIDS+=($!)

# The slow node's Version takes 6 s: dial it first, check it last.
wait_ev "$WORK/node-slow.log" 'first("listening")' 30
peer sensor to-slow client --target 198.51.100.110:16111 --allow-remote --timeout 10
SLOW_PID=${PIDS[-1]}

# Wait until every node's client is done with the stand-in (or gave up).
for host in pub rsthost drophost fwdrop fwreject rejecter otherport otherip v6pub v6drop \
        v4only nata natb unspec gounspec; do
    wait_ev "$WORK/node-$host.log" 'first("client_done") or first("pong_received", role="client")' 40 ||
        echo "    (no client result from $host yet)"
done

# ---------------------------------------------------------------- from the sensor back
"$NETLAB" exec "$P" sensor "$PY" "$PROBE" --timeout 2 \
    198.51.100.20:16111 198.51.100.21:16111 198.51.100.30:16111 198.51.100.31:16111 \
    '[2001:db8:1::20]:16111' '[2001:db8:1::30]:16111' 198.51.100.50:16111 \
    198.51.100.60:16111 198.51.100.60:16222 203.0.113.2:16111 >"$WORK/probes.log" &
PROBE_PID=$!
peer sensor to-pub client --target 198.51.100.10:16111 --allow-remote
peer sensor to-twonat client --target 198.51.100.90:16111 --allow-remote
peer sensor to-v6pub client --target '[2001:db8:1::10]:16111' --allow-remote
peer sensor to-v4only client --target 198.51.100.80:16111 --allow-remote
peer sensor to-otherip client --target 198.51.100.70:16111 --allow-remote
peer sensor to-otherport client --target 198.51.100.60:16222 --allow-remote
peer sensor to-rejecter client --target 198.51.100.40:16111 --allow-remote \
    --expect-reject "peer user agent rejected"
peer sensor to-nonkaspa client --target 198.51.100.50:16111 --allow-remote --headers-timeout 3 --timeout 3
wait "$PROBE_PID"
for name in pub twonat v6pub v4only otherip otherport rejecter nonkaspa; do
    wait_ev "$WORK/to-$name.log" 'done' 30 || true
done

# ---------------------------------------------------------------- checks
# pub: reachable, the same id both ways, its connection from its own address.
check "pub reachable (Version, same id)" "$WORK/to-pub.log" \
    'done["ok"] and first("version_received")["id"] == id_of("pub")'
check "pub seen from 198.51.100.10" "$WORK/node-pub.log" \
    'seen("pub")[0] == "198.51.100.10" and seen("pub")[1]["address"] == "198.51.100.10:16111"'

# NAT without a forward: the router's kernel resets at once; the LAN node shows up
# with the router's WAN address.
probe_is "rstnat refused fast (RST)" 198.51.100.20:16111 refused 500
check "rsthost seen from its router 198.51.100.20" "$WORK/node-rsthost.log" \
    'seen("rsthost")[0] == "198.51.100.20"'
probe_is "dropnat times out" 198.51.100.21:16111 timeout
check "drophost seen from its router 198.51.100.21" "$WORK/node-drophost.log" \
    'seen("drophost")[0] == "198.51.100.21"'

# Host firewalls: DROP times out, REJECT refuses, and outbound still works.
probe_is "fwdrop times out" 198.51.100.30:16111 timeout
check "fwdrop's own connection works" "$WORK/node-fwdrop.log" \
    'seen("fwdrop")[0] == "198.51.100.30" and first("pong_received", role="client")'
probe_is "fwreject refused (ICMP port unreachable)" 198.51.100.31:16111 refused 500
check "fwreject's own connection works" "$WORK/node-fwreject.log" \
    'seen("fwreject")[0] == "198.51.100.31" and first("pong_received", role="client")'

check "rejecter: Version, then Reject" "$WORK/to-rejecter.log" \
    'done["ok"] and first("version_received")["id"] == id_of("rejecter") and first("reject_received")'

probe_is "nonkaspa: port open" 198.51.100.50:16111 open
check "nonkaspa: no Kaspa there" "$WORK/to-nonkaspa.log" 'not done["ok"] and not first("version_received")'

probe_is "otherport: 16111 refused" 198.51.100.60:16111 refused
probe_is "otherport: 16222 open" 198.51.100.60:16222 open
check "otherport reachable on 16222, advertises it" "$WORK/to-otherport.log" \
    'done["ok"] and first("version_received")["address"] == "198.51.100.60:16222"'

# Port forward: twonat:16111 is nata's node; natb's connection comes from the router.
check "twonat:16111 reaches nata's node" "$WORK/to-twonat.log" \
    'done["ok"] and first("version_received")["id"] == id_of("nata")'
check "natb seen from 198.51.100.90" "$WORK/node-natb.log" \
    'seen("natb")[0] == "198.51.100.90" and first("pong_received", role="client")'
check "nata seen from 198.51.100.90" "$WORK/node-nata.log" 'seen("nata")[0] == "198.51.100.90"'

# IPv6.
check "v6pub reachable over IPv6" "$WORK/to-v6pub.log" \
    'done["ok"] and first("version_received")["id"] == id_of("v6pub")'
check "v6pub seen from 2001:db8:1::10" "$WORK/node-v6pub.log" 'seen("v6pub")[0] == "2001:db8:1::10"'
probe_is "v6drop times out over IPv6" '[2001:db8:1::20]:16111' timeout
check "v6drop seen from 2001:db8:1::20" "$WORK/node-v6drop.log" 'seen("v6drop")[0] == "2001:db8:1::20"'
probe_is "v4only refused over IPv6" '[2001:db8:1::30]:16111' refused 500
check "v4only reachable over IPv4" "$WORK/to-v4only.log" \
    'done["ok"] and first("version_received")["id"] == id_of("v4only")'
check "v4only dialed over IPv6" "$WORK/node-v4only.log" 'seen("v4only")[0] == "2001:db8:1::30"'

# Advertised addresses as the stand-in decoded them.
check "otherip advertises the decoy" "$WORK/node-otherip.log" \
    'seen("otherip")[0] == "198.51.100.70" and seen("otherip")[1]["address"] == "198.51.100.71:16111"'
check "otherip reachable" "$WORK/to-otherip.log" 'done["ok"] and first("version_received")["id"] == id_of("otherip")'
check "unspec advertises 0.0.0.0:0" "$WORK/node-unspec.log" \
    'seen("unspec")[0] == "198.51.100.100" and seen("unspec")[1]["address_ip_hex"] == "00000000"
     and seen("unspec")[1]["address_port"] == 0'
check "gounspec advertises [::ffff:0.0.0.0]:0 with protocol 5" "$WORK/node-gounspec.log" \
    'seen("gounspec")[0] == "198.51.100.101"
     and seen("gounspec")[1]["address_ip_hex"] == "00" * 10 + "ffff00000000"
     and seen("gounspec")[1]["address_port"] == 0 and seen("gounspec")[1]["protocol_version"] == 5'

# NAT LANs are not routed from the WAN.
probe_is "sensor cannot reach a NAT LAN" 203.0.113.2:16111 unreachable

# SYN counters: the decoy saw none (nobody dialed the advertised address), the
# counters do count (otherip, the dropping hosts), and nothing reached the LAN hosts
# behind the routers without a forward.
syn() { "$NETLAB" syn-count "$P" "$1"; }
DECOY=$(syn decoy); OTHERIP=$(syn otherip); V6DROP=$(syn v6drop); FWDROP=$(syn fwdrop)
RSTHOST=$(syn rsthost); DROPHOST=$(syn drophost); NATA=$(syn nata)
if [ "$DECOY" = 0 ] && [ "$OTHERIP" -ge 1 ] && [ "$V6DROP" -ge 1 ] && [ "$FWDROP" -ge 1 ] &&
        [ "$RSTHOST" = 0 ] && [ "$DROPHOST" = 0 ] && [ "$NATA" -ge 1 ]; then
    pass "syn-count: decoy 0, otherip $OTHERIP, v6drop $V6DROP, fwdrop $FWDROP, nata $NATA, rsthost/drophost 0"
else
    fail "syn-count: decoy $DECOY otherip $OTHERIP v6drop $V6DROP fwdrop $FWDROP rsthost $RSTHOST drophost $DROPHOST nata $NATA"
fi

# The busy node: its Version arrived 6 s after the stream opened.
wait "$SLOW_PID"
check "slow: Version >= 6 s late" "$WORK/to-slow.log" \
    'done["ok"] and version_delay_ms() >= 6000 and first("version_received")["id"] == id_of("slow")'

# ---------------------------------------------------------------- teardown
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
wait 2>/dev/null
PIDS=()
"$NETLAB" down "$P"
"$NETLAB" down "$P"  # idempotent
if [ -z "$(ip netns list | awk '{print $1}' | grep "^$P-")" ]; then pass "netlab down (twice)"
else fail "netlab down"; fi

echo "$PASSED passed, $FAILED failed ($(( $(date +%s) - START )) s)"
[ "$FAILED" = 0 ]
