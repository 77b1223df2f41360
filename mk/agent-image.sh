#!/usr/bin/env bash
# `make agent-image`: the agent as the container image tld-agent:VERSION (and :latest), built
# offline with the engine's classic builder from pkg/docker/Dockerfile (FROM scratch). The
# root file system is staged here: the tld-agent binary and exactly the shared libraries ldd
# lists, with a minimal /etc. Nothing is pulled. Usage:
#   mk/agent-image.sh [BINARY] [TAG]     (default build/bin/tld-agent, tld-agent:VERSION)
# DOCKER_HOST chooses the engine, as for the docker command.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/bin/tld-agent}"
version=$(sed -n 's/^#define TLD_VERSION "\(.*\)"/\1/p' src/common/version.h)
tag="${2:-tld-agent:$version}"
[[ -x "$bin" ]] || { echo "agent-image: $bin is not built (make)" >&2; exit 1; }

ctx=$(mktemp -d /tmp/tld-agent-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/bin" "$root/etc" "$root/tmp" "$root/var/threatlockdown"
chmod 1777 "$root/tmp"
install -m 0755 "$bin" "$root/usr/bin/tld-agent"
# Every library the loader will look for, at the path ldd resolves it to (the loader too).
ldd "$bin" | awk '/=> \// {print $3} $1 ~ /^\// {print $1}' | sort -u | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
cp pkg/docker/Dockerfile "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q --pull=false -t "$tag" "$ctx" >/dev/null
if [[ "$tag" == tld-agent:"$version" ]]; then
    docker tag "$tag" tld-agent:latest
fi
echo "agent-image: built $tag"
