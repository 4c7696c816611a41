# shellcheck shell=bash disable=SC2034,SC2154  # names for the tests sourcing this; lib.sh sets top_builddir
# Helpers of the multi-threaded restore tests (tests/e2e/restore_threads*.sh),
# sourced after lib.sh and restore_lib.sh (bash, set -eu).

RS_THREADS=$TARGETS/restore_threads
RS_THREADS_PC=$TARGETS/restore_threads_pc
RS_THREADS_BLOCK=$TARGETS/restore_threads_block
RS_THREADS_LIFE=$TARGETS/restore_threads_life

# The tests that checkpoint a restored process again (same pid) mount with
# this hold time: procsnap's default, so the original's snapshot is still
# held when the restored process (same pid) is checkpointed. It must not be
# served for it (th_checkpoint checks the process is really frozen).
TH_HOLD=${TH_HOLD:-2}

# th_setup [PROGRAM...]: rs_setup, with hold=$TH_HOLD.
th_setup() {
	ps_setup "$REAPER" "$@"
	MNT=$PS_TMP/mnt
	ps_mount "$MNT" "spool=$PS_TMP/spool,hold=$TH_HOLD"
	[ -d "$MNT/restore" ] || ps_fail "$MNT/restore is missing: this procsnap cannot restore"
}

# th_checkpoint PID IMG: rs_checkpoint, after making sure that the snapshot
# is a new one of this very process: frozen by our procsnap while fd 9 holds
# its image.json open (and so all through the copy on fd 8).
th_checkpoint() {
	exec 9<"$MNT/$1/image.json"
	ps_assert_frozen "$1" "$PS_DAEMON" "while its image.json is open (a snapshot of a dead process with the same pid?)"
	rs_checkpoint "$1" "$2"
	exec 9<&-
}

# th_tasks PID: "<tid> <comm>" of every thread of PID, by tid. A comm may
# hold spaces: everything after the first space is the name.
th_tasks() {
	local t c
	for t in /proc/"$1"/task/*; do
		c=$(cat "$t/comm" 2>/dev/null) || continue
		printf '%s %s\n' "${t##*/}" "$c"
	done | sort -n
}

# th_wait_tasks PID N: wait until PID has N threads (a thread's exit shows
# in /proc a little after the thread is joined).
th_wait_tasks() {
	local end=$((SECONDS + 6)) n
	while :; do
		n=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		[ "$n" = "$2" ] && return 0
		[ "$SECONDS" -lt "$end" ] || ps_fail "process $1 has $n threads, want $2"
		sleep 0.05
	done
}

# th_assert_tasks PID EXPECTED WHAT: the tids and names of PID's threads are
# exactly EXPECTED (th_tasks output); on a difference, show it.
th_assert_tasks() {
	local got
	got=$(th_tasks "$1")
	[ "$got" = "$2" ] ||
		ps_fail "$3: threads of $1 differ (< expected, > got):$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$got") | grep '^[<>]' | head -n 20 | tr '\n' ';')"
}


# th_in_syscall PID TID: the number of the syscall TID is blocked in, from
# /proc (-1 when it is running or the file says nothing of use).
th_in_syscall() {
	local nr
	read -r nr _ <"/proc/$1/task/$2/syscall" || nr=
	case $nr in
	'' | *[!0-9]*) echo -1 ;;
	*) echo "$nr" ;;
	esac
}

# th_sum NUMBERS...: their sum
th_sum() {
	local s=0 v
	for v in "$@"; do
		s=$((s + v))
	done
	echo "$s"
}
