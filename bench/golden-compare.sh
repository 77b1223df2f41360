#!/usr/bin/env bash
# Compares two behaviour snapshots written by bench/golden.sh (the build before a change and the
# build after it): every file of either folder must exist in both and be byte-identical.
#
#   bash bench/golden-compare.sh OLD_DIR NEW_DIR
#
# Names each file that differs (with its first differing lines) or exists on one side only, ends
# with "N identical, N different" and exits 1 on any difference (or when there is nothing to
# compare), 0 otherwise.
set -euo pipefail

[[ $# -eq 2 && -d $1 && -d $2 ]] || {
    echo "usage: bash bench/golden-compare.sh OLD_DIR NEW_DIR" >&2
    exit 2
}
OLD=$1
NEW=$2
same=0
differ=0
while IFS= read -r f; do
    if [[ ! -f $OLD/$f ]]; then
        echo "only in $NEW: $f"
        differ=$((differ + 1))
    elif [[ ! -f $NEW/$f ]]; then
        echo "only in $OLD: $f"
        differ=$((differ + 1))
    elif cmp -s "$OLD/$f" "$NEW/$f"; then
        same=$((same + 1))
    else
        echo "differs: $f ($(wc -l <"$OLD/$f") vs $(wc -l <"$NEW/$f") lines)"
        diff "$OLD/$f" "$NEW/$f" | head -n 6 | cut -c1-300 | sed 's/^/    /' || true
        differ=$((differ + 1))
    fi
done < <({
    (cd "$OLD" && find . -type f)
    (cd "$NEW" && find . -type f)
} | sed 's|^\./||' | sort -u)
echo "$same identical, $differ different"
[[ $differ -eq 0 && $same -gt 0 ]]
