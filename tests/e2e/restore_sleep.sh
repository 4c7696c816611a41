#!/bin/bash
# restore_sleep: a process checkpointed asleep in nanosleep, pause or a FIFO read is
# restored still asleep in it: no spurious EINTR, nanosleep sleeps its full time;
# usleep loops in two threads never see EINTR, a futex, a poll and a usleep time out
# in full, also when a stop had left them inside restart_syscall (loops_stopped).
# RS_SLEEP_MODES="nanosleep pause fifo loops loops_stopped" (the default) picks the modes.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

rs_setup "$RS_SLEEP"

# The result must not be there before the test wakes the process.
no_result_yet() { # RESULTS WHEN
	[ "$(rs_lines "$1")" = 0 ] || ps_fail "woke up early $2: $(cat "$1")"
}

for mode in ${RS_SLEEP_MODES:-nanosleep pause fifo loops loops_stopped}; do
	res=$PS_TMP/$mode.results
	img=$PS_TMP/img-$mode
	case $mode in
	nanosleep)
		# 4 s asleep, checkpointed about 1 s in: it must still sleep the
		# rest after the restore and return 0.
		ps_start "$mode" "$RS_SLEEP" nanosleep "$res"
		pid=$PS_TARGET
		t0=$EPOCHREALTIME
		sleep 1
		rs_checkpoint "$pid" "$img"
		no_result_yet "$res" "before the restore"
		t1=$EPOCHREALTIME
		rs_restore_ok "$img" "$mode-$pid" "$pid"
		t2=$EPOCHREALTIME
		rs_expect_ok "$res" 0 "nanosleep after the restore"
		# For the log only (tests do not assert on time): the restored
		# sleep should last about what remained at the checkpoint.
		awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v r="$RS_RESULT" 'BEGIN {
			split(r, w, " "); e = w[6]
			printf "restore_sleep: checkpointed 1 s into the sleep, gone at %.2f s, restored at %.2f s, " \
			       "woke at %.2f s: %.2f s asleep after the restore\n", t1 - t0, t2 - t0, e, e - (t2 - t0)
		}'
		;;
	pause)
		ps_start "$mode" "$RS_SLEEP" pause "$res"
		pid=$PS_TARGET
		sleep 0.3
		rs_checkpoint "$pid" "$img"
		rs_restore_ok "$img" "$mode-$pid" "$pid"
		sleep 0.5
		no_result_yet "$res" "after the restore, before SIGUSR1"
		rs_verify "$pid" "$res" USR1
		;;
	fifo)
		fifo=$PS_TMP/fifo
		mkfifo "$fifo"
		ps_start "$mode" "$RS_SLEEP" fifo "$res" "$fifo"
		pid=$PS_TARGET
		sleep 0.3
		rs_checkpoint "$pid" "$img"
		rs_restore_ok "$img" "$mode-$pid" "$pid"
		sleep 0.5
		no_result_yet "$res" "after the restore, before the FIFO was written"
		# Opened read-write, so the open cannot block whatever happened.
		printf 'hello-after-restore\n' 1<>"$fifo"
		rs_expect_ok "$res" 0 "read of the FIFO after the restore"
		ps_assert_eq "OK read: hello-after-restore" "$RS_RESULT" "what the read returned"
		;;
	loops | loops_stopped)
		# usleep (nanosleep with no remaining-time pointer) in the main
		# thread and another, a futex, a poll and a usleep with 3 s
		# timeouts; checkpointed 1 s in, told to stop once the waits are
		# over. loops_stopped: SIGSTOP and SIGCONT first, after which the
		# kernel resumes each wait through restart_syscall.
		stop=$PS_TMP/stop-$mode
		ps_start "$mode" "$RS_SLEEP" loops "$res" "$stop"
		pid=$PS_TARGET
		sleep 0.5
		if [ "$mode" = loops_stopped ]; then
			kill -STOP "$pid"
			sleep 0.2
			kill -CONT "$pid"
		fi
		sleep 0.5
		rs_checkpoint "$pid" "$img"
		rs_restore_ok "$img" "$mode-$pid" "$pid"
		sleep 2.5
		touch "$stop"
		rs_expect_ok "$res" 0 "usleep loops, futex and poll across the restore"
		;;
	*) ps_fail "unknown mode $mode" ;;
	esac
	rs_kill "$pid"
done
