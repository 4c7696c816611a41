#!/bin/bash
# restore_threads_life: after a restore, threads live on: each keeps its tid
# (gettid, and the one glibc keeps in memory: pthread_kill reaches it), its TLS
# and pthread_self(); raise() and tgkill() land in the right thread; a thread
# that was waiting exits and its joiner is woken (clear_child_tid); new
# threads are created, one on the stack glibc cached before the checkpoint,
# and joined. The same checks run first on a process never checkpointed.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=threads_lib.sh
. "$(dirname "$0")/threads_lib.sh"

rs_setup "$RS_THREADS_LIFE"

# Control: a FAIL after the restore is then the restore's doing.
res=$PS_TMP/control.results
ps_start control "$RS_THREADS_LIFE" "$res"
th_wait_tasks "$PS_TARGET" 6
rs_verify "$PS_TARGET" "$res"
kill -KILL "$PS_TARGET"
wait "$PS_TARGET" 2>/dev/null || true
rs_wait_gone "$PS_TARGET" "after kill -9 of the control process"

res=$PS_TMP/life.results
ps_start life "$RS_THREADS_LIFE" "$res"
pid=$PS_TARGET
exiter=$(ps_field exiter)
th_wait_tasks "$pid" 6
tasks=$(th_tasks "$pid")
th_checkpoint "$pid" "$PS_TMP/img"
ps_assert_eq "$tasks" "$(ps_py tasks "$PS_TMP/img")" "threads (tid and name) in registers/ of the image"
rs_restore_ok "$PS_TMP/img" "life-$pid" "$pid"
th_assert_tasks "$pid" "$tasks" "after the restore"
ps_pass "the main thread, $(ps_field workers | tr ',' '\n' | wc -l) workers and the exiting thread are back with their tids"
rs_verify "$pid" "$res"
# The exiting thread is gone, the new ones too: the others are left, as they were.
th_wait_tasks "$pid" 5
th_assert_tasks "$pid" "$(printf '%s\n' "$tasks" | awk -v t="$exiter" '$1 != t')" "after the checks"
ps_pass "after the checks: the threads of before, but the one that exited"
rs_kill "$pid"
