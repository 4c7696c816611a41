#!/bin/bash
# restore_timens: with -o timens a restored process's CLOCK_MONOTONIC and
# CLOCK_BOOTTIME go on from the checkpoint (the 3 s it was gone do not show),
# in a time namespace of its own; without it they jump ahead by those 3 s.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

CLOCK=$top_builddir/tests/targets/restore_clock
[ -e /proc/self/ns/time ] || ps_skip "this kernel has no time namespaces (CONFIG_TIME_NS)"
rs_setup "$CLOCK"
GONE=3

# run_once NAME: checkpoint, GONE seconds dead, restore, verify; sets
# MONO and BOOT (ms elapsed for the process since it started) and NS (the
# inode of its time namespace).
run_once() {
	local res=$PS_TMP/$1.results pid
	ps_start "$1" "$CLOCK" "$res"
	pid=$PS_TARGET
	sleep 0.5
	rs_checkpoint "$pid" "$PS_TMP/img-$1"
	sleep "$GONE"
	rs_restore_ok "$PS_TMP/img-$1" "$pid" "$pid"
	rs_verify "$pid" "$res"
	rs_kill "$pid"
	MONO=$(sed -n 's/.*mono_elapsed_ms=\([0-9]*\).*/\1/p' <<<"$RS_RESULT")
	BOOT=$(sed -n 's/.*boot_elapsed_ms=\([0-9]*\).*/\1/p' <<<"$RS_RESULT")
	NS=$(sed -n 's/.*time_ns=\([0-9]*\).*/\1/p' <<<"$RS_RESULT")
}

OURS=$(stat -L -c %i /proc/self/ns/time)
run_once plain
[ "$MONO" -ge $((GONE * 1000)) ] && [ "$BOOT" -ge $((GONE * 1000)) ] ||
	ps_fail "without timens the clocks should jump ahead by ${GONE} s: monotonic ${MONO} ms, boottime ${BOOT} ms"
[ "$NS" = "$OURS" ] || ps_fail "without timens the process is in another time namespace ($NS, ours $OURS)"
ps_pass "without timens: monotonic ${MONO} ms, boottime ${BOOT} ms since the start (the ${GONE} s gone count)"

ps_unmount "$MNT"
ps_mount "$MNT" "spool=$PS_TMP/spool,timens"
run_once timens
[ "$MONO" -lt $((GONE * 1000)) ] && [ "$BOOT" -lt $((GONE * 1000)) ] ||
	ps_fail "with timens the ${GONE} s gone should not show: monotonic ${MONO} ms, boottime ${BOOT} ms"
[ -n "$NS" ] && [ "$NS" != 0 ] && [ "$NS" != "$OURS" ] ||
	ps_fail "with timens the process is not in a time namespace of its own ($NS, ours $OURS)"
ps_pass "with timens: monotonic ${MONO} ms, boottime ${BOOT} ms since the start, in its own time namespace"
