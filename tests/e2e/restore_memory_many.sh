#!/bin/bash
# restore_memory_many: a process with 3000 one-page mappings of mixed kinds (anonymous with and
# without data, read-only, guard pages, private file mappings, shared anonymous) restores byte-exact,
# also from an image copied in an order that removes a file behind the spool's progress.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

N=3000
MANYMAPS=$TARGETS/manymaps
rs_setup "$MANYMAPS"
res=$PS_TMP/manymaps.results
ps_start manymaps "$MANYMAPS" "$N" "$res" "$PS_TMP"
pid=$PS_TARGET
rs_verify "$pid" "$res"

rs_checkpoint "$pid" "$PS_TMP/img"
ps_log "$(find "$PS_TMP/img/memory" -type f | wc -l) files in memory/ for $N slots"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"

# The spool follows the copy's progress (fs/spool_progress.c) rather than
# checking every file at each close: a file removed behind that progress
# keeps the image incomplete, and its return completes it.
listed=$(python3 -c 'import json, sys; print("\n".join(f["name"] for f in json.load(open(sys.argv[1]))["files"]))' \
	"$PS_TMP/img/image.json")
first=$(grep -m1 '^memory/[0-9a-f]' <<<"$listed")
last=$(tail -n1 <<<"$listed")
dst=$MNT/restore/again
mkdir -p "$dst/memory" "$dst/registers"
cp "$PS_TMP/img/image.json" "$dst/"
while read -r f; do
	[ "$f" = "$last" ] || cp "$PS_TMP/img/$f" "$dst/$f"
done <<<"$listed"
rm "$dst/$first"
cp "$PS_TMP/img/$last" "$dst/$last"
case $(rs_status again) in
incomplete*) ps_pass "without $first (removed behind the copy's progress): $(rs_status again)" ;;
*) ps_fail "without $first the status is '$(rs_status again)'" ;;
esac
cp "$PS_TMP/img/$first" "$dst/$first"
ps_assert_eq "restored $pid" "$(rs_status again)" "status once $first is back"
PS_PIDS+=("$pid")
rs_verify "$pid" "$res"
rs_kill "$pid"
