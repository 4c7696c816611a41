#!/bin/bash
# restore_memory_batch: 3000 named anonymous mappings, some read-only, some
# MADV_DONTDUMP, whose restore queues more syscalls and more name bytes than
# one queue holds (restore/batch.c): every mapping comes back with its bytes,
# range, permissions, name and VmFlags. (Unnamed where the kernel has no
# anonymous names: then only the syscalls overflow the queue.)
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

N=3000
BATCH=$top_builddir/tests/targets/restore_memory_batch
rs_setup "$BATCH"
res=$PS_TMP/batch.results
ps_start batch "$BATCH" "$N" "$res"
pid=$PS_TARGET
rs_verify "$pid" "$res"
if [ "$(ps_field named)" = 1 ]; then
	ps_assert_eq "$N" "$(grep -c '\[anon:batch ' "/proc/$pid/maps")" "named mappings before the checkpoint"
else
	ps_log "this kernel cannot name anonymous memory (no CONFIG_ANON_VMA_NAME): the mappings are unnamed"
fi

# The slots' own lines of rs_maps (ranges, permissions, names, VmFlags).
slot_maps() { # PID
	rs_maps "$1" | awk -v lo="$(printf %016x $((base)))" -v hi="$(printf %016x $((base + N * 4096)))" '
		{ split($1, r, "-"); s = r[1]; while (length(s) < 16) s = "0" s }
		s >= lo && s < hi'
}

base=$(ps_field base)
slot_maps "$pid" >"$PS_TMP/slots.before"
# unnamed, neighbours alike in permissions and flags are one mapping
[ "$(ps_field named)" = 0 ] ||
	ps_assert_eq "$N" "$(wc -l <"$PS_TMP/slots.before")" "slot mappings before the checkpoint"
rs_checkpoint "$pid" "$PS_TMP/img"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
slot_maps "$pid" >"$PS_TMP/slots.after"
diff "$PS_TMP/slots.before" "$PS_TMP/slots.after" >/dev/null ||
	ps_fail "the slots differ after the restore: $(diff "$PS_TMP/slots.before" "$PS_TMP/slots.after" | head -n 6)"
ps_pass "the $(wc -l <"$PS_TMP/slots.after") mappings of the $N slots have their ranges, permissions, names and VmFlags as before"
rs_kill "$pid"
