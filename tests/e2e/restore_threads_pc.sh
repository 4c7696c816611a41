#!/bin/bash
# restore_threads_pc: two producers and two consumers passing sequence numbers
# through a mutex- and condition-variable-guarded queue are checkpointed and
# restored (RS_PC_ROUNDS times, default 3, each from the previous restore): no
# item is lost, duplicated or corrupted across any checkpoint, the consumers
# go on from the image's sequence number, and the threads waiting on the
# condition variables and the mutex wake up again (see TH_HOLD in
# threads_lib.sh).
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=threads_lib.sh
. "$(dirname "$0")/threads_lib.sh"

th_setup "$RS_THREADS_PC"
res=$PS_TMP/pc.results
ps_start pc "$RS_THREADS_PC" "$res"
pid=$PS_TARGET
consumed=$(ps_field consumed)
produced=$(ps_field produced)
th_wait_tasks "$pid" 5
sleep 0.3
rs_verify "$pid" "$res"   # before any checkpoint: the target itself is sound
tasks=$(th_tasks "$pid")

for round in $(seq 1 "${RS_PC_ROUNDS:-3}"); do
	img=$PS_TMP/img$round
	th_checkpoint "$pid" "$img"
	c=$(ps_py u64s "$img" "$consumed" 8 1)
	p=$(ps_py u64s "$img" "$produced" 8 1)
	[ "$c" -gt 0 ] || ps_fail "image: nothing consumed"
	[ "$p" -ge "$c" ] || ps_fail "image: produced $p < consumed $c"
	# Where the threads were: 202 is futex (a condition variable or the
	# mutex), 230 clock_nanosleep, 130 rt_sigsuspend (the main thread).
	ps_log "round $round: image at item $c consumed, $p produced; threads in syscalls (tid nr ret): $(ps_py syscalls "$img" | tr '\n' ';')"
	rs_restore_ok "$img" "pc$round-$pid" "$pid"
	th_assert_tasks "$pid" "$tasks" "round $round, after the restore"
	sleep 0.2
	rs_verify "$pid" "$res"
	now=$(ps_py u64s "pid:$pid" "$consumed" 8 1)
	[ "$now" -gt "$c" ] || ps_fail "round $round: consumed $now after the restore, $c in the image"
	ps_pass "round $round: consumers went on from item $c to $now"
done
rs_kill "$pid"
