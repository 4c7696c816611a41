#!/bin/bash
# restore_attributes: what a process and its threads set on themselves
# (scheduling, nice, io priority, timer slack, parent-death signal,
# speculation, MCE kill, TSC, CPUID, oom_score_adj, coredump_filter,
# autogroup, loginuid, THP, subreaper, membarrier, memory merge, AMX, MDWE)
# survives a restore, each checked by the process itself. What procsnap
# cannot bring back is refused by name, nothing left running, the image kept:
# syscall user dispatch, a NUMA memory policy, no_new_privs in one thread
# only, the autogroup nice of a session the process does not lead, an
# oom_score_adj below procsnap's own when procsnap lacks CAP_SYS_RESOURCE.
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

# checkpoint_mode MODE: the target in MODE, checkpointed into $img; sets
# pid (the process checkpointed), tid2 (its second thread), img.
checkpoint_mode() {
	ps_start "$1" "$RS_ATTRS" "$PS_TMP/$1.results" "$1"
	pid=$(ps_field pid)
	tid2=$(ps_field tid2)
	img=$PS_TMP/$1
	rs_checkpoint "$pid" "$img"
}

# refused MODE SENTENCE: the restore of checkpoint_mode's image is refused
# saying SENTENCE, nothing left running, the image kept.
refused() {
	rs_restore "$img" "$1$pid"
	rs_assert_refused "$pid" "$img" "$1$pid" "$2"
}

checkpoint_mode sud
refused sud "thread $pid has syscall user dispatch on: restoring it is not supported"
checkpoint_mode mempolicy
refused mempolicy "thread $pid has a NUMA memory policy (set_mempolicy mode 1): restoring it is not supported"
checkpoint_mode nnp-thread
refused nnp-thread "thread $tid2's securebits 0 and no_new_privs 0 differ from the main thread's (0, 1): per-thread credentials are not restored"
# A child of the session's leader (which waits for it, and goes with it).
if [ "$(ps_field autogroup)" = 1 ]; then
	checkpoint_mode session-child
	refused session-child "autogroup nice 4 belongs to the session of $PS_TARGET, which the restore does not make"
else
	ps_log "not tried: the autogroup nice of a session the process does not lead (this kernel has no autogroup)"
fi

# procsnap lacking CAP_SYS_RESOURCE (a container's root may) cannot lower an
# oom_score_adj below its own: with its own raised to 500, the process's 345
# is refused. (Raising needs no right; procsnap keeps 500 to its unmount.)
cap_eff=$(awk '/^CapEff:/ { print $2 }' "/proc/$PS_DAEMON/status")
if (((0x$cap_eff >> 24) & 1)); then
	ps_log "not tried: an oom_score_adj below procsnap's own (procsnap has CAP_SYS_RESOURCE: it may lower one)"
else
	checkpoint_mode mdwe
	echo 500 >"/proc/$PS_DAEMON/oom_score_adj"
	refused oom "oom_score_adj 345 is below procsnap's own (500): lowering it needs CAP_SYS_RESOURCE, which procsnap lacks"
fi
