#!/bin/bash
# restore_memory_flags: every mapping comes back with the VmFlags it had
# (madvise flags, locks, seals, MAP_NORESERVE, what its file allows), and a
# shared map of a file opened O_RDWR but mapped read-only can still be made
# writable, one of a file opened O_RDONLY still cannot.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

FLAGS=$top_builddir/tests/targets/restore_memory_flags
rs_setup "$FLAGS"
mkdir "$PS_TMP/dir"
res=$PS_TMP/flags.results
ps_start flags "$FLAGS" "$res" "$PS_TMP/dir"
pid=$PS_TARGET
rs_verify "$pid" "$res"
rs_checkpoint_maps "$pid" "$PS_TMP/img"
rs_restore_exact "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_compare_maps "$pid" "$PS_TMP/img.maps"
rs_kill "$pid"
