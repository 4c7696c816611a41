#!/bin/bash
# restore_spool_full: an image copied into restore/ on a spool too small for
# it: the copy fails with "No space left on device", the staged memory file
# is left visibly short (not a full-sized file with a hole that could pass for
# complete), nothing is restored or left running, procsnap serves on, and the
# same image restores once copied where there is room.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

MIB=24        # the image's big memory file
SPOOL_MIB=16  # the small spool: room for the start of it only

rs_setup "$BIGMAP"
command -v mount >/dev/null || ps_skip "mount missing: apt-get install mount"
mkdir "$PS_TMP/small"
mount -t tmpfs -o size=${SPOOL_MIB}m procsnap-test-small "$PS_TMP/small" ||
	ps_fail "cannot mount a ${SPOOL_MIB} MiB tmpfs for the small spool"
PS_MOUNTS+=("$PS_TMP/small")   # unmounted by the cleanup
SMALL=$PS_TMP/smallmnt
ps_mount "$SMALL" "spool=$PS_TMP/small/spool"
small_daemon=$PS_DAEMON

ps_start bigmap "$BIGMAP" "$MIB" all
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/img"
big=$(cd "$PS_TMP/img" && find memory -type f -size +$((MIB - 1))M)
[ -n "$big" ] || ps_fail "the image has no memory file of $MIB MiB"
sum_before=$(cd "$PS_TMP/img" && find . -type f -exec md5sum {} + | sort)

# ---- the copy into the small spool fails, and says why ----
err=$PS_TMP/cp.err
if cp -r "$PS_TMP/img" "$SMALL/restore/$pid" 2>"$err"; then
	ps_fail "cp -r into a ${SPOOL_MIB} MiB spool of a $MIB MiB image exited 0"
fi
grep -q "No space left on device" "$err" || ps_fail "cp's error does not say the spool is full: $(cat "$err")"
ps_pass "cp fails: $(head -n 1 "$err")"

status=$(cat "$SMALL/restore/$pid/status")
case $status in
incomplete:*) ;;
*) ps_fail "status is '$status', want 'incomplete: ...'" ;;
esac
size=$(stat -c %s "$SMALL/restore/$pid/$big" 2>/dev/null || echo 0)
[ "$size" -lt $((MIB << 20)) ] ||
	ps_fail "the staged $big has its full size ($size bytes) though its writing failed"
ps_pass "status: $status; staged $big stops at $size bytes"

rs_assert_nothing_left "$pid"
ps_alive "$small_daemon" || ps_fail "procsnap of the small spool died"
ls "$SMALL/restore" >/dev/null || ps_fail "restore/ of the small spool no longer answers"
sum_after=$(cd "$PS_TMP/img" && find . -type f -exec md5sum {} + | sort)
[ "$sum_before" = "$sum_after" ] || ps_fail "the source image changed"

# ---- nothing lost: the same image restores where there is room ----
rm -rf "${SMALL:?}/restore/$pid"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
rs_kill "$pid"
ps_pass "the same image restores from a spool with room"
