#!/bin/bash
# restore_memory_guard: guard pages (MADV_GUARD_INSTALL, Linux 6.13) do not
# stop the checkpoint (the memory files read, with holes where guards are),
# are saved in maps.json, and guard again after the restore (a child touching
# one dies of SIGSEGV) with the bytes around them as before.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

GUARD=$top_builddir/tests/targets/restore_memory_guard
rs_setup "$GUARD"
mkdir "$PS_TMP/dir"
res=$PS_TMP/guard.results
ps_start guard "$GUARD" "$res" "$PS_TMP/dir"
pid=$PS_TARGET
rs_verify "$pid" "$res"
rs_checkpoint_maps "$pid" "$PS_TMP/img"
runs=$(python3 -c 'import json, sys
print(sum(1 for m in json.load(open(sys.argv[1]))["mappings"] if m.get("guards")))' "$PS_TMP/img/memory/maps.json")
[ "$runs" -ge 3 ] || ps_fail "maps.json lists guard pages for $runs mappings, want 3"
ps_pass "the memory files read (cp -r), and maps.json has guard pages in $runs mappings"
rs_restore_exact "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"
