#!/usr/bin/env bash
# Installs what kaspa-sensor needs on a Debian machine that already has the Swift toolchain:
# the system C libraries the plugins link (libsqlite3, libcurl, zlib, libcrypto, libpq), the sqlite3 and openssl
# commands (the Firebase tests make a throwaway RSA key with openssl); with --with-test-peers also ip and
# iptables (the network-namespace lab of the label tests), the PostgreSQL server (PostgresSink's tests start
# throwaway clusters of their own) and the Python packages of the independent test peers (grpcio). Safe to run again; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libsqlite3-dev libcurl4-openssl-dev zlib1g-dev libssl-dev libpq-dev openssl sqlite3 python3-pip)
if [ "${1:-}" = "--with-test-peers" ]; then
  packages+=(iproute2 iptables postgresql)
fi
need_apt=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || need_apt+=("$package")
done
if ((${#need_apt[@]})); then
  echo "installing: ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" = "--with-test-peers" ]; then
  python3 -c "import grpc, grpc_tools, h2" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check -r Tests/peers/requirements.txt
fi
