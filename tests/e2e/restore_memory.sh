#!/bin/bash
# restore_memory: .data, .bss, stack, heap, malloc's own mmaps, sparse and read-only
# anonymous mappings, a private and a shared file mapping survive a restore byte for byte.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_MEMORY"
res=$PS_TMP/memory.results
ps_start memory "$RS_MEMORY" "$res" "$PS_TMP"
pid=$PS_TARGET
# Self-check before the checkpoint: the target's own verification passes.
rs_verify "$pid" "$res"

rs_checkpoint_maps "$pid" "$PS_TMP/img"
for a in data bss heap large anon ro private shared; do
	ps_log "$a at $(ps_field "$a"): saved as $(ps_py mapping "$PS_TMP/img" "$(ps_field "$a")")"
done
ps_assert_eq 16384 "$(stat -c %s "$PS_TMP/shared.dat")" "size of shared.dat after the original died"

rs_restore_exact "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
# A second round: the first one wrote through the shared mapping and put the
# pattern back; everything must still hold.
rs_verify "$pid" "$res"
rs_kill "$pid"
