#!/bin/bash
# restore_attributes_caller: a restore for a caller other than root sets
# nothing the caller could not set itself. Each of alice's processes below
# has one attribute she could not have given it (root gave it before the
# process became hers, or she set it while only she could): nice -5 below
# her RLIMIT_NICE, oom_score_adj -100 (where root may set it), SCHED_FIFO 1
# over her RLIMIT_RTPRIO of 0, SCHED_DEADLINE, a real-time io priority,
# autogroup nice -3, a loginuid of another user's login. Her restore of each
# is refused by name, nothing left running, the image kept; root's restore of
# the same image brings the attribute back. Her own uid as loginuid over an
# unset one she may restore herself.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"
# shellcheck source-path=SCRIPTDIR source=users_lib.sh
. "$(dirname "$0")/users_lib.sh"

ps_setup "$REAPER" "$RS_COUNTER"
us_setup
alice= uid=   # set by us_alice_mount
us_alice_mount
as_alice=(setpriv --reuid="$uid" --regid="$(id -g "$alice")" --init-groups --)

# checkpoint_counter NAME COMMAND...: start COMMAND (which ends in alice's
# counter: see counter_of), checkpoint it; sets pid and img (readable by her).
checkpoint_counter() {
	local name=$1
	shift
	ps_start "$name" "$@"
	pid=$PS_TARGET
	chown "$alice:" "$PS_TMP/$name.out" "$PS_TMP/$name.err"
	img=$PS_TMP/img-$name
	rs_checkpoint "$pid" "$img"
	chmod -R a+rX "$img"
}

counter_of() { # NAME: the counter's command line, its files in alice's directory
	printf '%s\n' "$RS_COUNTER" "$PS_TMP/alice/$1.results" "$PS_TMP/alice/$1.log"
}

# refused_then_root NAME SENTENCE: alice's restore of img is refused saying
# SENTENCE; root's then succeeds (the caller checks the attribute).
refused_then_root() {
	us_restore "$alice" "$img" "$1"
	rs_assert_refused "$pid" "$img" "$1" "$2" "$alice"
	rs_restore_ok "$img" "root-$1" "$pid"
	ps_assert_eq "$uid" "$(ps -o uid= -p "$pid" | tr -d ' ')" "uid of the process root restored"
}

# nice -5: alice may not lower a nice value below what her RLIMIT_NICE allows.
mapfile -t counter < <(counter_of nice)
checkpoint_counter nice nice -n -5 "${as_alice[@]}" "${counter[@]}"
refused_then_root nice "thread $pid has nice -5, below what its RLIMIT_NICE (0) allows without CAP_SYS_NICE"
ps_assert_eq -5 "$(ps -o ni= -p "$pid" | tr -d ' ')" "nice of the process root restored"
rs_kill "$pid"

# oom_score_adj -100 (a service the OOM killer spares): lowering it takes
# CAP_SYS_RESOURCE, which a container may not grant even to root.
if choom -n -100 -- true 2>/dev/null; then
	mapfile -t counter < <(counter_of oom)
	checkpoint_counter oom choom -n -100 -- "${as_alice[@]}" "${counter[@]}"
	refused_then_root oom "oom_score_adj -100 is below 0: only root may restore a process the OOM killer spares"
	ps_assert_eq -100 "$(cat "/proc/$pid/oom_score_adj")" "oom_score_adj of the process root restored"
	rs_kill "$pid"
else
	ps_log "not tried: a negative oom_score_adj (this root lacks CAP_SYS_RESOURCE to set one)"
fi

# SCHED_FIFO 1: above alice's RLIMIT_RTPRIO of 0.
if chrt -f 1 true 2>/dev/null; then
	mapfile -t counter < <(counter_of fifo)
	checkpoint_counter fifo chrt -f 1 "${as_alice[@]}" "${counter[@]}"
	refused_then_root fifo "thread $pid has real-time priority 1, above what its RLIMIT_RTPRIO (0) allows without CAP_SYS_NICE"
	ps_assert_eq "FF 1" "$(ps -o cls=,rtprio= -p "$pid" | xargs)" "policy and priority of the process root restored"
	rs_kill "$pid"
else
	ps_log "not tried: SCHED_FIFO (root may not set it here: real-time bandwidth?)"
fi

# SCHED_DEADLINE (5 ms every 100 ms): only CAP_SYS_NICE sets it.
if chrt -d --sched-runtime 5000000 --sched-deadline 100000000 --sched-period 100000000 0 true 2>/dev/null; then
	mapfile -t counter < <(counter_of deadline)
	checkpoint_counter deadline chrt -d --sched-runtime 5000000 --sched-deadline 100000000 \
		--sched-period 100000000 0 "${as_alice[@]}" "${counter[@]}"
	refused_then_root deadline "thread $pid runs SCHED_DEADLINE: only root may restore it"
	ps_assert_eq DLN "$(ps -o cls= -p "$pid" | xargs)" "policy of the process root restored"
	rs_kill "$pid"
else
	ps_log "not tried: SCHED_DEADLINE (root may not set it here: real-time bandwidth?)"
fi

# A real-time io priority: only CAP_SYS_ADMIN (or CAP_SYS_NICE) sets one.
mapfile -t counter < <(counter_of ioprio)
checkpoint_counter ioprio ionice -c 1 -n 4 "${as_alice[@]}" "${counter[@]}"
refused_then_root ioprio "thread $pid has a real-time io priority: only root may restore it"
ps_assert_eq "realtime: prio 4" "$(ionice -p "$pid")" "io priority of the process root restored"
rs_kill "$pid"

# Autogroup nice -3 of the process's own session (setsid: it leads one).
mapfile -t counter < <(counter_of autogroup)
# shellcheck disable=SC2016  # $0 and $@ are the inner shell's
checkpoint_counter autogroup setsid sh -c 'echo -3 >/proc/self/autogroup && exec "$0" "$@"' \
	"${as_alice[@]}" "${counter[@]}"
refused_then_root autogroup "autogroup nice -3 is below 0: only root may restore it"
case $(cat "/proc/$pid/autogroup") in
*" nice -3") ps_pass "the process root restored has autogroup nice -3" ;;
*) ps_fail "autogroup of the process root restored: '$(cat "/proc/$pid/autogroup")', want nice -3" ;;
esac
rs_kill "$pid"

# loginuid: a task sets its own with no privilege while it is unset (as
# procsnap's is here), once. 4242, another user's login: refused to alice.
[ "$(cat /proc/self/loginuid)" = 4294967295 ] ||
	ps_skip "this test's loginuid is set ($(cat /proc/self/loginuid)): its processes cannot set theirs"
mapfile -t counter < <(counter_of loginuid)
# shellcheck disable=SC2016  # $0 and $@ are the inner shell's
checkpoint_counter loginuid "${as_alice[@]}" sh -c 'echo 4242 >/proc/self/loginuid && exec "$0" "$@"' \
	"${counter[@]}"
refused_then_root loginuid "loginuid 4242 is neither procsnap's (4294967295) nor yours over an unset one"
ps_assert_eq 4242 "$(cat "/proc/$pid/loginuid")" "loginuid of the process root restored"
rs_kill "$pid"

# Her own uid, as her login gives her processes: she restores it herself.
mapfile -t counter < <(counter_of own-loginuid)
# shellcheck disable=SC2016  # $0 and $@ are the inner shell's
checkpoint_counter own-loginuid "${as_alice[@]}" sh -c 'echo "$(id -u)" >/proc/self/loginuid && exec "$0" "$@"' \
	"${counter[@]}"
us_restore_ok "$alice" "$img" own-loginuid "$pid"
ps_assert_eq "$uid" "$(cat "/proc/$pid/loginuid")" "loginuid of the process alice restored"
rs_kill "$pid"
