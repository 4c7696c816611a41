#!/bin/bash
# restore_attributes: what a process and its threads set on themselves
# (scheduling, nice, io priority, timer slack, parent-death signal,
# speculation, MCE kill, TSC, CPUID, oom_score_adj, coredump_filter,
# autogroup, loginuid, THP, subreaper, membarrier, memory merge, AMX, MDWE)
# survives a restore, each checked by the process itself; syscall user
# dispatch is refused by name, with nothing left running.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

RS_ATTRS=$TARGETS/restore_attributes

rs_setup "$RS_ATTRS"

# Every attribute, MDWE too (set last: it forbids W+X mappings).
res=$PS_TMP/attrs.results
ps_start attrs "$RS_ATTRS" "$res" mdwe
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/img"
grep -q '"syscall_user_dispatch"' "$PS_TMP/img/attributes.json" ||
	ps_fail "the image has no attributes.json with thread entries"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
rs_verify "$pid" "$res"
rs_kill "$pid"

# An image without attributes.json (made before the part existed) restores.
res=$PS_TMP/old.results
ps_start old "$RS_ATTRS" "$res"
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/old"
rm "$PS_TMP/old/attributes.json"
python3 - "$PS_TMP/old/image.json" <<'PY'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
j["files"] = [f for f in j["files"] if f["name"] != "attributes.json"]
json.dump(j, open(p, "w"), indent=2)
PY
rs_restore_ok "$PS_TMP/old" "old$pid" "$pid"
# ... as before this part existed: the attributes are lost, and the
# target's own check sees it (so the check above is no formality).
before=$(rs_lines "$res")
kill -USR2 "$pid"
rs_wait_result "$res" "$before"
case $RS_RESULT in
FAIL*) ps_pass "without attributes.json the target sees what is lost: $RS_RESULT" ;;
*) ps_fail "without attributes.json the target still says: $RS_RESULT" ;;
esac
rs_kill "$pid"

# Syscall user dispatch on: refused by name before anything is made.
res=$PS_TMP/sud.results
ps_start sud "$RS_ATTRS" "$res" sud
pid=$PS_TARGET
rs_checkpoint "$pid" "$PS_TMP/sud"
rs_restore "$PS_TMP/sud" "sud$pid"
case $RS_STATUS in
*"syscall user dispatch"*) ps_pass "refused: $RS_STATUS" ;;
*) ps_fail "status is '$RS_STATUS', want a refusal naming syscall user dispatch" ;;
esac
[ "$RS_CP_RC" != 0 ] || ps_fail "cp succeeded although the restore was refused"
rs_assert_nothing_left "$pid"
ps_pass "nothing left running after the refusal"
