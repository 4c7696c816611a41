#!/bin/bash
# restore_threads_block: a process whose threads are parked in nanosleep (3 s,
# checkpointed about 1 s in), pthread_join, pthread_cond_wait, a barrier, a
# mutex, a FIFO read() and sigsuspend, the main thread in pause(), is restored
# with each thread still blocked in its call: none returns early or with EINTR;
# the sleep ends about when its remaining time is up; the others return when
# released (the FIFO written, SIGUSR2 to the main thread), and with their
# results (the joiner gets the exiter's value, the reader the bytes written,
# sigsuspend its own mask back).
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=threads_lib.sh
. "$(dirname "$0")/threads_lib.sh"

rs_setup "$RS_THREADS_BLOCK"
res=$PS_TMP/block.results
img=$PS_TMP/img
fifo=$PS_TMP/fifo
mkfifo "$fifo"

# The syscall each thread must be blocked in (x86_64 numbers).
declare -A want=([main]=34 [sleep]=230 [join]=202 [exiter]=202 [barrier]=202 [read]=0 [mutex]=202 [suspend]=130)
declare -A tid

no_result_yet() { # WHEN
	[ "$(rs_lines "$res")" = 0 ] || ps_fail "a call returned early, $1: $(cat "$res")"
}

assert_blocked() { # WHEN: every thread of the live process in its syscall
	local r nr
	for r in "${!want[@]}"; do
		nr=$(th_in_syscall "$pid" "${tid[$r]}")
		[ "$nr" = "${want[$r]}" ] ||
			ps_fail "$1: the $r thread (tid ${tid[$r]}) is in syscall $nr, not ${want[$r]}"
	done
}

ps_start block "$RS_THREADS_BLOCK" "$res" "$fifo"
pid=$PS_TARGET
tid[main]=$pid
for r in "${!want[@]}"; do
	[ "$r" = main ] || tid[$r]=$(ps_field "$r")
done
start=$(ps_field sleep_start)
tasks=$(th_tasks "$pid")
assert_blocked "before the checkpoint"

# Checkpoint 1 s into the 3 s sleep.
sleep "$(awk -v s="$start" -v n="$EPOCHREALTIME" 'BEGIN { d = s + 1 - n; print (d > 0 ? d : 0) }')"
th_checkpoint "$pid" "$img"
no_result_yet "before the restore"
for r in "${!want[@]}"; do
	nr=$(ps_py syscalls "$img" | awk -v t="${tid[$r]}" '$1 == t { print $2 }')
	[ "$nr" = "${want[$r]}" ] || ps_fail "image: the $r thread (tid ${tid[$r]}) was in syscall $nr, not ${want[$r]}"
done
rem=$(ps_py rem "$img" "${tid[sleep]}")
ps_pass "image: every thread in its syscall; the sleep had $rem s left"

t_a=$EPOCHREALTIME
rs_restore_ok "$img" "block-$pid" "$pid"
t_b=$EPOCHREALTIME
th_assert_tasks "$pid" "$tasks" "after the restore"
sleep 0.5
no_result_yet "0.5 s after the restore"
assert_blocked "0.5 s after the restore"
ps_pass "0.5 s after the restore every thread is still blocked in its call"

# Opened read-write, so the open cannot block whatever happened.
printf 'hello-threads\n' 1<>"$fifo"
sleep 0.2
no_result_yet "after the FIFO was written"
rs_verify "$pid" "$res"

# The sleep restarted with what was left: it cannot end sooner than that
# after the restore began, and should not end much later after it was done.
woke=${RS_RESULT##*woke=}
woke=${woke%% *}
awk -v a="$t_a" -v b="$t_b" -v w="$woke" -v r="$rem" -v s="$start" 'BEGIN {
	printf "restore_threads_block: the sleep began at 0, was checkpointed with %.3f s left, restored at %.3f..%.3f s, woke at %.3f s: %.3f..%.3f s asleep after the restore\n",
		r, a - s, b - s, w - s, w - b, w - a
	if (w < a + r - 0.05) { print "restore_threads_block: FAIL: the sleep ended before its remaining time was up" > "/dev/stderr"; exit 1 }
	if (w > b + r + 1.0) { print "restore_threads_block: FAIL: the sleep ended more than 1 s after its remaining time was up" > "/dev/stderr"; exit 1 }
}' || exit 1
ps_pass "the sleep lasted its remaining time after the restore"
rs_kill "$pid"
