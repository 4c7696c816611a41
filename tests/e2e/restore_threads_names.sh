#!/bin/bash
# restore_threads_names: the set of thread ids and each thread's name
# (/proc/PID/task/*/comm: short, 15 characters long, with spaces, and a
# renamed main thread, which is the process's name) are the same before the
# checkpoint, in the image, after the restore, and after a second checkpoint
# and restore of the restored process (see TH_HOLD in threads_lib.sh).
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=threads_lib.sh
. "$(dirname "$0")/threads_lib.sh"

th_setup "$RS_THREADS"
n=16
name="main: 16 thrds"   # 14 characters, spaces and a colon
res=$PS_TMP/names.results
ps_start names "$RS_THREADS" "$res" "$n" "$name"
pid=$PS_TARGET
th_wait_tasks "$pid" "$n"
tasks=$(th_tasks "$pid")
ps_assert_eq "$(ps_field tids | tr ',' '\n' | sort -n | tr '\n' ' ')" \
	"$(printf '%s\n' "$tasks" | cut -d' ' -f1 | tr '\n' ' ')" "tids in /proc and as the process announced them"
ps_assert_eq "$name" "$(cat "/proc/$pid/comm")" "the process's name"
ps_log "threads: $(printf '%s\n' "$tasks" | tr '\n' ';')"

for round in 1 2; do
	img=$PS_TMP/img$round
	th_checkpoint "$pid" "$img"
	ps_assert_eq "$tasks" "$(ps_py tasks "$img")" "round $round: threads (tid and name) in registers/ of the image"
	rs_restore_ok "$img" "names$round-$pid" "$pid"
	th_assert_tasks "$pid" "$tasks" "round $round, after the restore"
	ps_assert_eq "$name" "$(cat "/proc/$pid/comm")" "round $round: the process's name after the restore"
	ps_assert_eq "Name:	$name" "$(grep '^Name:' "/proc/$pid/status")" "round $round: Name in /proc/$pid/status"
	ps_pass "round $round: the same $n tids with the same names"
	# The target checks each thread's comm against the name it gave itself.
	rs_verify "$pid" "$res"
done
rs_kill "$pid"
