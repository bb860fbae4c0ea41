#!/usr/bin/env bash
# netlab.sh — a network-namespace lab with known ground truth for the sensor's
# reachability classification (public / private / unknown).
#
#   netlab.sh up PREFIX            build the topology (namespaces PREFIX-<host>)
#   netlab.sh down PREFIX          delete it (idempotent; also after a crashed run)
#   netlab.sh exec PREFIX HOST CMD...   run CMD in HOST's namespace
#   netlab.sh syn-count PREFIX HOST     TCP SYNs (IPv4+IPv6, any port) that reached HOST
#   netlab.sh hosts                print the host table: "host ipv4 ipv6 description"
#
# Needs root, iproute2, iptables and ip6tables. Only documentation prefixes are used
# (198.51.100.0/24 and 2001:db8:1::/64 as the "internet", 203.0.113.0/24 split into
# /28s as NAT LANs), nothing is created in the root namespace (veth pairs are made
# directly inside their namespaces), and no namespace has a default route, so no
# packet can leave the lab. The script only builds hosts, addresses, routes and
# firewall/NAT rules; which peer runs where is the caller's job. See README.md.
set -euo pipefail

# ----------------------------------------------------------------------------- hosts
# The one host table; `up` and `hosts` both read it. Fields (| separated):
#   name | WAN IPv4 | WAN IPv6 | LAN IPv4 | router | rules | description
# - WAN hosts attach to the wan bridge with their WAN addresses (- for none).
# - A router has WAN addresses and its LAN address (a /28, first host of it).
# - A LAN host has only a LAN address and names its router; it reaches the WAN
#   (198.51.100.0/24 only) through the router, which masquerades.
# - rules: comma-separated firewall/NAT rules of that host (see apply_rules).
HOST_TABLE='
sensor   |198.51.100.1  |2001:db8:1::1 |-              |-      |-                 |the sensor runs here
pub      |198.51.100.10 |-             |-              |-      |-                 |a public node
rstnat   |198.51.100.20 |-             |203.0.113.1/28 |-      |nat               |NAT router, no port forward: its kernel answers the dial-back with RST
rsthost  |-             |-             |203.0.113.2/28 |rstnat |-                 |node behind rstnat
dropnat  |198.51.100.21 |-             |203.0.113.17/28|-      |nat,drop16111     |NAT router dropping tcp/16111 (INPUT DROP): the dial-back times out
drophost |-             |-             |203.0.113.18/28|dropnat|-                 |node behind dropnat
fwdrop   |198.51.100.30 |-             |-              |-      |dropsyn16111      |drops new inbound SYNs to 16111; its outbound connections work
fwreject |198.51.100.31 |-             |-              |-      |rejectsyn16111    |REJECTs new inbound SYNs to 16111 (icmp-port-unreachable)
rejecter |198.51.100.40 |-             |-              |-      |-                 |a node whose server sends Version then Reject
nonkaspa |198.51.100.50 |-             |-              |-      |-                 |port 16111 runs a non-Kaspa TCP service (HTTP/1.1)
otherport|198.51.100.60 |-             |-              |-      |-                 |node listening on 16222, advertising 198.51.100.60:16222
otherip  |198.51.100.70 |-             |-              |-      |-                 |node advertising 198.51.100.71:16111 (another host)
decoy    |198.51.100.71 |-             |-              |-      |-                 |the address otherip advertises: must never receive a SYN
v6pub    |-             |2001:db8:1::10|-              |-      |-                 |IPv6-only public node
v6drop   |-             |2001:db8:1::20|-              |-      |dropsyn16111      |IPv6-only node, ip6tables drops new SYNs to 16111
v4only   |198.51.100.80 |2001:db8:1::30|-              |-      |-                 |listens on IPv4 only, dials the sensor over IPv6
twonat   |198.51.100.90 |-             |203.0.113.33/28|-      |nat,dnat16111:203.0.113.34|NAT router forwarding tcp/16111 to nata
nata     |-             |-             |203.0.113.34/28|twonat |-                 |node behind twonat, reachable through the port forward
natb     |-             |-             |203.0.113.35/28|twonat |-                 |second host behind twonat: not listening, dials the sensor
unspec   |198.51.100.100|-             |-              |-      |-                 |node advertising 0.0.0.0:0 (no address)
gounspec |198.51.100.101|-             |-              |-      |-                 |node advertising [::ffff:0.0.0.0]:0 with protocol 5 (Go kaspad v0.12)
slow     |198.51.100.110|-             |-              |-      |-                 |node whose server sends Version 6 s late
'
WAN_V4_PREFIX=24   # 198.51.100.0/24
WAN_V6_PREFIX=64   # 2001:db8:1::/64
WAN_V4_NET=198.51.100.0/24
SYN_COMMENT=netlab-syn

die() { echo "netlab: $*" >&2; exit 1; }

# table_rows: the table without blank lines, fields trimmed, one row per line.
table_rows() {
    local line
    while IFS= read -r line; do
        [ -n "${line// /}" ] || continue
        # trim the spaces around every | (descriptions keep their inner spaces)
        sed -e 's/[[:space:]]*|[[:space:]]*/|/g' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' <<<"$line"
    done <<<"$HOST_TABLE"
}

host_names() { table_rows | cut -d'|' -f1; }

# row HOST: sets R_NAME R_V4 R_V6 R_LAN R_ROUTER R_RULES R_DESC, or fails.
row() {
    local line
    line=$(table_rows | awk -F'|' -v h="$1" '$1 == h') || true
    [ -n "$line" ] || die "unknown host '$1' (see: netlab.sh hosts)"
    IFS='|' read -r R_NAME R_V4 R_V6 R_LAN R_ROUTER R_RULES R_DESC <<<"$line"
}

check_prefix() {
    [[ "${1:-}" =~ ^[a-z][a-z0-9]{0,9}$ ]] ||
        die "PREFIX must be 1-10 lower-case letters/digits starting with a letter, got '${1:-}'"
}

ns() { echo "$PREFIX-$1"; }
# nsx HOST CMD...: CMD in HOST's namespace, stdin closed (callers loop over the table on stdin).
nsx() { local host=$1; shift; ip netns exec "$(ns "$host")" "$@" </dev/null; }

# lab_namespaces: the existing namespaces of this prefix (only names the lab uses).
lab_namespaces() {
    local existing name
    existing=$(ip netns list | awk '{print $1}')
    for name in wan $(host_names); do
        if grep -qx -- "$PREFIX-$name" <<<"$existing"; then echo "$PREFIX-$name"; fi
    done
}

is_router() { table_rows | awk -F'|' -v h="$1" '$5 == h {found=1} END {exit !found}'; }
lan_hosts_of() { table_rows | awk -F'|' -v h="$1" '$5 == h {print $1}'; }

# ----------------------------------------------------------------------------- up

new_ns() {
    local name
    name=$(ns "$1")
    ip netns add "$name"
    ip -n "$name" link set lo up
}

# veth NS_A IF_A NS_B IF_B: a veth pair created directly in two namespaces.
veth() {
    ip link add name "$2" netns "$(ns "$1")" type veth peer name "$4" netns "$(ns "$3")"
}

add_v4() { ip -n "$(ns "$1")" addr add "$3" dev "$2"; }
add_v6() { ip -n "$(ns "$1")" -6 addr add "$3" dev "$2" nodad; }

# apply_rules HOST RULES: the host's own firewall/NAT rules.
apply_rules() {
    local host=$1 rules=$2 rule
    [ "$rules" = "-" ] && return 0
    IFS=',' read -ra rule_list <<<"$rules"
    for rule in "${rule_list[@]}"; do
        case "$rule" in
            nat)  # masquerade the LAN out of the WAN interface
                nsx "$host" iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE ;;
            drop16111)  # the router itself drops everything to 16111
                nsx "$host" iptables -A INPUT -p tcp --dport 16111 -j DROP ;;
            dropsyn16111)  # new inbound connections to 16111 only (v4 and v6)
                nsx "$host" iptables -A INPUT -p tcp --dport 16111 --syn -j DROP
                nsx "$host" ip6tables -A INPUT -p tcp --dport 16111 --syn -j DROP ;;
            rejectsyn16111)  # REJECT's default: icmp-port-unreachable (v6: icmp6-port-unreachable)
                nsx "$host" iptables -A INPUT -p tcp --dport 16111 --syn -j REJECT
                nsx "$host" ip6tables -A INPUT -p tcp --dport 16111 --syn -j REJECT ;;
            dnat16111:*)  # port forward of the WAN's tcp/16111 to a LAN host
                nsx "$host" iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 16111 \
                    -j DNAT --to-destination "${rule#dnat16111:}:16111" ;;
            *) die "unknown rule '$rule' for $host" ;;
        esac
    done
}

# syn_counter HOST: count every TCP SYN arriving from outside (not lo), before any rule.
syn_counter() {
    nsx "$1" iptables -I INPUT 1 ! -i lo -p tcp --syn -m comment --comment "$SYN_COMMENT"
    nsx "$1" ip6tables -I INPUT 1 ! -i lo -p tcp --syn -m comment --comment "$SYN_COMMENT"
}

cmd_up() {
    [ -z "$(lab_namespaces)" ] || die "lab '$PREFIX' exists already (netlab.sh down $PREFIX)"
    # set -e ends the script on any failure below: take down what was built.
    trap 'echo "netlab: up failed, tearing down $PREFIX" >&2; cmd_down' EXIT
    new_ns wan
    ip -n "$(ns wan)" link add br0 type bridge
    ip -n "$(ns wan)" link set br0 type bridge mcast_snooping 0
    ip -n "$(ns wan)" link set br0 up

    local host lanhost count
    # WAN side: every host with a WAN address (routers included).
    while IFS='|' read -r R_NAME R_V4 R_V6 R_LAN R_ROUTER R_RULES R_DESC; do
        new_ns "$R_NAME"
        [ "$R_ROUTER" = "-" ] || continue  # LAN hosts attach below
        veth wan "w-$R_NAME" "$R_NAME" eth0
        ip -n "$(ns wan)" link set "w-$R_NAME" master br0 up
        ip -n "$(ns "$R_NAME")" link set eth0 up
        [ "$R_V4" = "-" ] || add_v4 "$R_NAME" eth0 "$R_V4/$WAN_V4_PREFIX"
        [ "$R_V6" = "-" ] || add_v6 "$R_NAME" eth0 "$R_V6/$WAN_V6_PREFIX"
    done < <(table_rows)

    # LAN side: a veth pair to a single LAN host, a bridge for two or more.
    while IFS='|' read -r R_NAME R_V4 R_V6 R_LAN R_ROUTER R_RULES R_DESC; do
        is_router "$R_NAME" || continue
        host=$R_NAME
        count=$(lan_hosts_of "$host" | wc -l)
        if [ "$count" -eq 1 ]; then
            lanhost=$(lan_hosts_of "$host")
            veth "$host" lan0 "$lanhost" eth0
            ip -n "$(ns "$host")" link set lan0 up
            add_v4 "$host" lan0 "$R_LAN"
        else
            ip -n "$(ns "$host")" link add lan0 type bridge
            ip -n "$(ns "$host")" link set lan0 type bridge mcast_snooping 0
            ip -n "$(ns "$host")" link set lan0 up
            add_v4 "$host" lan0 "$R_LAN"
            for lanhost in $(lan_hosts_of "$host"); do
                veth "$host" "l-$lanhost" "$lanhost" eth0
                ip -n "$(ns "$host")" link set "l-$lanhost" master lan0 up
            done
        fi
        nsx "$host" sysctl -qw net.ipv4.ip_forward=1
        for lanhost in $(lan_hosts_of "$host"); do
            row "$lanhost"
            ip -n "$(ns "$lanhost")" link set eth0 up
            add_v4 "$lanhost" eth0 "$R_LAN"
            # Only the WAN is routed, through the router's LAN address.
            ip -n "$(ns "$lanhost")" route add "$WAN_V4_NET" via "$(router_lan_ip "$host")"
        done
    done < <(table_rows)

    # Firewalls last, the SYN counter first in every INPUT chain.
    while IFS='|' read -r R_NAME R_V4 R_V6 R_LAN R_ROUTER R_RULES R_DESC; do
        apply_rules "$R_NAME" "$R_RULES"
        syn_counter "$R_NAME"
    done < <(table_rows)
    trap - EXIT
    echo "netlab: $PREFIX up ($(lab_namespaces | wc -l) namespaces)"
}

router_lan_ip() {
    local line
    line=$(table_rows | awk -F'|' -v h="$1" '$1 == h {print $4}')
    echo "${line%/*}"
}

# ----------------------------------------------------------------------------- down

cmd_down() {
    local name pids
    for name in $(lab_namespaces); do
        # Processes left in the lab (a crashed test) would keep the namespace alive
        # after its name is gone: stop exactly those, by pid.
        pids=$(ip netns pids "$name" 2>/dev/null || true)
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086
            kill -TERM $pids 2>/dev/null || true
        fi
    done
    for name in $(lab_namespaces); do
        local i
        for i in 1 2 3 4 5 6 7 8 9 10; do
            [ -z "$(ip netns pids "$name" 2>/dev/null || true)" ] && break
            sleep 0.2
        done
        pids=$(ip netns pids "$name" 2>/dev/null || true)
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
        fi
        ip netns del "$name" 2>/dev/null || true
    done
    return 0
}

# ----------------------------------------------------------------------------- queries

cmd_syn_count() {
    row "$1"
    [ -n "$(lab_namespaces)" ] || die "lab '$PREFIX' is not up"
    local v4 v6
    v4=$(nsx "$1" iptables -nvxL INPUT | awk -v c="/\\* $SYN_COMMENT \\*/" '$0 ~ c {print $1; exit}')
    v6=$(nsx "$1" ip6tables -nvxL INPUT | awk -v c="/\\* $SYN_COMMENT \\*/" '$0 ~ c {print $1; exit}')
    [ -n "$v4" ] && [ -n "$v6" ] || die "no SYN counter on $1"
    echo $((v4 + v6))
}

cmd_hosts() {
    local ip4
    while IFS='|' read -r R_NAME R_V4 R_V6 R_LAN R_ROUTER R_RULES R_DESC; do
        ip4=$R_V4
        [ "$R_ROUTER" = "-" ] || ip4=${R_LAN%/*}
        printf '%s %s %s %s\n' "$R_NAME" "$ip4" "$R_V6" "$R_DESC"
    done < <(table_rows)
}

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

main() {
    local command=${1:-}
    [ -n "$command" ] || usage
    shift
    case "$command" in
        hosts) cmd_hosts ;;
        up|down)
            [ $# -eq 1 ] || usage
            check_prefix "$1"; PREFIX=$1
            "cmd_$command" ;;
        exec)
            [ $# -ge 3 ] || usage
            check_prefix "$1"; PREFIX=$1
            [ "$2" = wan ] || row "$2"  # wan: the bridge namespace (e.g. for tcpdump)
            local host=$2
            shift 2
            exec ip netns exec "$(ns "$host")" "$@" ;;
        syn-count)
            [ $# -eq 2 ] || usage
            check_prefix "$1"; PREFIX=$1
            cmd_syn_count "$2" ;;
        *) usage ;;
    esac
}

main "$@"
