#!/bin/bash
# consistency: under one held snapshot cp -r, tar and rsync copy byte-identical
# images with the same counter value; after release a new snapshot sees it grow.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ps_setup "$COUNTER"
command -v rsync >/dev/null || ps_skip "rsync missing: apt-get install rsync"
MNT=$PS_TMP/mnt
ps_mount "$MNT" hold=1
ps_start counter "$COUNTER"
pid=$(ps_field pid)
addr=$(ps_field addr)

exec 9<"$MNT/$pid/image.json"
ps_assert_frozen "$pid" "$PS_DAEMON" "while image.json is open"
mkdir "$PS_TMP/cp" "$PS_TMP/tar" "$PS_TMP/rsync"
cp -r "$MNT/$pid" "$PS_TMP/cp/"
tar -C "$MNT" -cf - "$pid" | tar -C "$PS_TMP/tar" -xf -
rsync -a "$MNT/$pid" "$PS_TMP/rsync/"
ps_assert_frozen "$pid" "$PS_DAEMON" "after three copies under one handle"

diff -r "$PS_TMP/cp/$pid" "$PS_TMP/tar/$pid" || ps_fail "cp -r and tar copies differ"
diff -r "$PS_TMP/cp/$pid" "$PS_TMP/rsync/$pid" || ps_fail "cp -r and rsync copies differ"
ps_pass "cp -r, tar and rsync copies are identical ($(du -sh --apparent-size "$PS_TMP/cp/$pid" | cut -f1))"
ps_py check-image "$PS_TMP/cp/$pid" "$pid"

held=$(ps_py u64 "$MNT/$pid" "$addr")
for how in cp tar rsync; do
	ps_assert_eq "$held" "$(ps_py u64 "$PS_TMP/$how/$pid" "$addr")" "counter in the $how copy"
done
[ "$held" -gt 0 ] || ps_fail "counter is 0 in the snapshot"
ps_pass "counter is $held in the mount and in all three copies"

exec 9<&-
ps_wait_free "$pid" "after the handle was closed and hold=1 passed"
sleep 0.2
fresh=$(ps_py u64 "$MNT/$pid" "$addr")
[ "$fresh" -gt "$held" ] || ps_fail "a new snapshot reads counter $fresh, not more than $held"
ps_pass "a new snapshot after the release reads $fresh > $held"
ps_wait_free "$pid" "after the second snapshot"
