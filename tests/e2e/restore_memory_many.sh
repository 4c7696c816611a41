#!/bin/bash
# restore_memory_many: a process with 3000 one-page mappings of mixed kinds (anonymous
# with and without data, read-only, guard pages, private file mappings, shared anonymous) restores byte-exact.
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
