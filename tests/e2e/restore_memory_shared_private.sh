#!/bin/bash
# restore_memory_shared_private: a file mapped shared, privately (some pages
# copied on write) and shared again, then written through the first mapping,
# comes back byte for byte in every page of every mapping, for memfds with and
# without their fd, a regular file and a deleted file.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

TRIO=$top_builddir/tests/targets/restore_memory_shared_private
rs_setup "$TRIO"
mkdir "$PS_TMP/dir"
res=$PS_TMP/trio.results
ps_start trio "$TRIO" "$res" "$PS_TMP/dir"
pid=$PS_TARGET
rs_verify "$pid" "$res"
rs_checkpoint_maps "$pid" "$PS_TMP/img"
rs_restore_exact "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_verify "$pid" "$res"
rs_kill "$pid"
