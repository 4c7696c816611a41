#!/bin/bash
# restore_memory_gone_maps: mappings of files that no longer have a name come back
# with their bytes: a memfd mapped shared whose fd is kept (mapping and fd
# are one file again), a memfd mapped twice after its fd was closed (both
# mappings share one new memfd), a deleted file mapped privately with a
# changed page (the rest comes from the file's saved content).
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

GONE=$top_builddir/tests/targets/restore_memory_gone_maps
rs_setup "$GONE"
mkdir "$PS_TMP/dir"
res=$PS_TMP/gone.results
ps_start gone "$GONE" "$res" "$PS_TMP/dir"
pid=$PS_TARGET
rs_checkpoint_maps "$pid" "$PS_TMP/img"
rs_restore_exact "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
maps=$(cat "/proc/$pid/maps")
grep -q '/memfd:gone-held (deleted)' <<<"$maps" || ps_fail "no mapping of memfd:gone-held after the restore"
[ "$(grep -c '/memfd:gone-closed (deleted)' <<<"$maps")" = 2 ] ||
	ps_fail "memfd:gone-closed is not mapped twice after the restore: $(grep gone <<<"$maps")"
ps_pass "/proc/$pid/maps shows both memfds, one of them twice"
rs_kill "$pid"
