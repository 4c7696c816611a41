#!/bin/bash
# restore_memory_lockall: mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT) comes
# back: every mapping keeps "lo lf", and one made after the restore is locked
# on fault too (MCL_FUTURE lives in the mm's def_flags, which the checkpoint
# finds by mapping one page in the frozen process).
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

LOCKALL=$top_builddir/tests/targets/restore_memory_lockall
rs_setup "$LOCKALL"
res=$PS_TMP/lockall.results
ps_start lockall "$LOCKALL" "$res"
pid=$PS_TARGET
rs_verify "$pid" "$res"
rs_checkpoint_maps "$pid" "$PS_TMP/img"
grep -q '"lock_future": *"future_onfault"' "$PS_TMP/img/memory/maps.json" ||
	ps_fail "maps.json does not say the process locks its future mappings on fault"
rs_restore_exact "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"
