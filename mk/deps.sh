#!/usr/bin/env bash
# Installs the Debian packages that building, running and testing ThreatLockDown need, but only
# those that are missing, so a second run costs a few dpkg queries. Needs root for apt-get.
set -euo pipefail

packages=(
    build-essential pkg-config clang llvm libclang-rt-14-dev clang-format
    libssl-dev libpcre2-dev libcjson-dev libcurl4-openssl-dev libmicrohttpd-dev
    libsqlite3-dev zlib1g-dev libcmocka-dev clickhouse-server zookeeper
    python3 python3-pytest
    dpkg-dev debhelper fakeroot lintian
    docker.io busybox-static nginx curl
    nodejs npm chromium
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# npm/nodejs may come from elsewhere than Debian on some machines: accept working commands.
filtered=()
for p in "${missing[@]}"; do
    case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    filtered+=("$p")
done
missing=("${filtered[@]+"${filtered[@]}"}")
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/tld-apt.XXXXXX.log)
for attempt in 1 2 3; do
    if apt-get update -qq >>"$log" 2>&1 &&
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
        rm -f "$log"
        exit 0
    fi
    echo "deps: apt-get failed (attempt $attempt), retrying; log: $log" >&2
    sleep 5
done
tail -n 20 "$log" >&2
echo "deps: could not install: ${missing[*]}" >&2
exit 1
