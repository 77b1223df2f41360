#!/usr/bin/env bash
# `make deb`: the threatlockdown-manager and threatlockdown-agent packages, built by
# dpkg-buildpackage (debhelper) from a copy of the tree in build/deb/src, so the packaging's
# clean step never touches the developer's build/. The .deb files land in build/deb/ and lintian
# checks them (overrides, each with its reason, in debian/*.lintian-overrides).
# DEB_VERSION overrides the version of debian/changelog (the upgrade test builds an older one).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/build/deb"
src="$out/src/threatlockdown"
rm -rf "$out"
mkdir -p "$src"
tar --exclude=./build --exclude=./run --exclude=./.git --exclude='./web/node_modules' -cf - . |
    tar -xf - -C "$src"
if [[ -n "${DEB_VERSION:-}" ]]; then
    (cd "$src" && sed -i "1s/(.*)/($DEB_VERSION)/" debian/changelog)
fi
(cd "$src" && dpkg-buildpackage -us -uc -b -j2 >"$out/build.log" 2>&1) || {
    tail -n 40 "$out/build.log" >&2
    echo "deb: dpkg-buildpackage failed; log: $out/build.log" >&2
    exit 1
}
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/ 2>/dev/null || true
mv "$out"/src/*.ddeb "$out"/ 2>/dev/null || true
rm -rf "$out/src"
ls "$out"/*.deb
if command -v lintian >/dev/null && [[ "${DEB_LINTIAN:-1}" == 1 ]]; then
    lintian --fail-on error,warning "$out"/*.changes
fi
