#!/bin/bash
# restore_sleeps: threads blocked in timed and signal waits when checkpointed
# carry on after the restore as the kernel's restart rules say, none with EINTR:
# a relative sleep or timeout (raw nanosleep, clock_nanosleep on
# CLOCK_MONOTONIC, poll, select, epoll_wait, all 5 s, checkpointed 1 s in)
# resumes with the time it had left at the checkpoint, so it ends about 4 s
# after the restore: not at once (the 2 s the process was dead counted) and
# not 5 s after it (started over). An absolute CLOCK_REALTIME sleep keeps its
# deadline (dead time counts): one due after the restore wakes at it, one due
# while the process was dead wakes at once. sigsuspend and sigwaitinfo return
# only on the signal the test sends after the restore, and not before it.
#
# The target times each call (CLOCK_MONOTONIC, shared with this script's
# python3 time.monotonic()) and its main thread's longest pause between 10 ms
# ticks, which is when it did not run: frozen at the checkpoint, dead, then
# resumed by the restore. The test brackets those with its own clock.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

RS_SLEEPS=$TARGETS/restore_sleeps
rs_setup "$RS_SLEEPS"
res=$PS_TMP/sleeps.results
img=$PS_TMP/img

WAIT=5         # every relative sleep or timeout of the target, seconds
ABS=6          # clock_abs wakes at base_real + 6 s
ABS_PAST=2     # clock_abs_past at base_real + 2 s: while the process is dead
RELATIVE="nanosleep clock_rel poll select epoll_wait"
ROLES="$RELATIVE clock_abs clock_abs_past sigsuspend sigwaitinfo"

mono() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }

# calc EXPR [NAME=VALUE...]: awk arithmetic, printed with 3 decimals.
calc() {
	local e=$1 a v=()
	shift
	for a in "$@"; do v+=(-v "$a"); done
	awk "${v[@]}" "BEGIN { printf \"%.3f\\n\", ($e) }"
}

# is EXPR [NAME=VALUE...]: awk condition.
is() {
	local e=$1 a v=()
	shift
	for a in "$@"; do v+=(-v "$a"); done
	awk "${v[@]}" "BEGIN { exit !($e) }"
}

sleep_until() { # MONO: sleep until CLOCK_MONOTONIC reaches it
	sleep "$(calc 't - n > 0 ? t - n : 0' t="$1" n="$(mono)")"
}

no_result_yet() { # WHEN
	[ "$(rs_lines "$res")" = 0 ] || ps_fail "a result came $1: $(cat "$res")"
}

in_syscall() { # TID: the syscall it is blocked in, -1 when running or gone
	local n
	read -r n _ <"/proc/$pid/task/$1/syscall" 2>/dev/null || n=
	case $n in '' | *[!0-9]*) echo -1 ;; *) echo "$n" ;; esac
}

ps_start sleeps "$RS_SLEEPS" "$res"
pid=$PS_TARGET
base=$(ps_field base)
sig_suspend=$(ps_field sig_suspend)
sig_wait=$(ps_field sig_wait)
declare -A tid nr
for r in $ROLES; do
	val=$(ps_field "$r")
	tid[$r]=${val%/*}
	nr[$r]=${val#*/}
	[ "$(in_syscall "${tid[$r]}")" = "${nr[$r]}" ] ||
		ps_fail "before the checkpoint: the $r thread (tid ${tid[$r]}) is in syscall $(in_syscall "${tid[$r]}"), not ${nr[$r]}"
done

# ---- checkpoint 1 s into the waits, then 2 s dead ----
# Each t_* below is a CLOCK_MONOTONIC lower bound (a start) or upper bound
# (an end) of what it times: python3 takes a while to start.
t_ck=$(calc 'b + 1' b="$base")
sleep_until "$t_ck"
rs_checkpoint "$pid" "$img"
t_ck_end=$(mono)
no_result_yet "before the restore"
sc=$(ps_py syscalls "$img")
for r in $ROLES; do
	n=$(awk -v t="${tid[$r]}" '$1 == t { print $2 }' <<<"$sc")
	[ "$n" = "${nr[$r]}" ] || ps_fail "image: the $r thread (tid ${tid[$r]}) was in syscall '$n', not ${nr[$r]}"
done
declare -A rem
for r in nanosleep clock_rel; do
	rem[$r]=$(ps_py rem "$img" "${tid[$r]}")
done
ps_pass "image: every thread in its syscall; nanosleep had ${rem[nanosleep]} s left, clock_rel ${rem[clock_rel]} s"
t_a=$(calc 'c + 2' c="$t_ck_end")
sleep_until "$t_a"   # dead for 2 s

# ---- restore, signals 1.5 s later, verify when the waits should be over ----
rs_restore_ok "$img" "$pid" "$pid"
t_b=$(mono)
t_b_real=$EPOCHREALTIME
sleep 1.5
no_result_yet "1.5 s after the restore"
for r in sigsuspend sigwaitinfo; do
	[ "$(in_syscall "${tid[$r]}")" -ge 0 ] ||
		ps_fail "1.5 s after the restore, before its signal, the $r thread (tid ${tid[$r]}) is not blocked in a syscall"
done
t_sig=$(mono)
kill -n "$sig_suspend" "$pid"
kill -n "$sig_wait" "$pid"
sleep_until "$(calc 'b + 5.2' b="$t_b")"
rs_verify "$pid" "$res"

# ---- the times the target reported, against the test's ----
declare -A f
for w in $RS_RESULT; do
	case $w in *=*) f[${w%%=*}]=${w#*=} ;; esac
done
for k in base base_real gap abs_real abs_past_real kill_pid $ROLES; do
	[ -n "${f[$k]:-}" ] || ps_fail "no $k= in the result line"
done
[ "${f[base]}" = "$base" ] || ps_fail "the result's base ${f[base]} is not READY's $base"
g1=$(calc 'b + o' b="$base" o="${f[gap]%..*}")     # last tick before the freeze
g2=$(calc 'b + o' b="$base" o="${f[gap]#*..}")     # first tick after the restore
rel() { calc 'x - b' x="$1" b="$base"; }            # for messages: seconds since base
ps_log "timeline (s since the target started): checkpoint $(rel "$t_ck")..$(rel "$t_ck_end")," \
	"restore $(rel "$t_a")..$(rel "$t_b"), signals $(rel "$t_sig"); the target did not run" \
	"from $(rel "$g1") to $(rel "$g2")"

bad=()
expect() { # CONDITION MESSAGE VARS...: record MESSAGE when the awk CONDITION is false
	local c=$1 m=$2
	shift 2
	is "$c" "$@" || bad+=("$m")
}

# The pause the target saw is the checkpoint-to-restore one, else nothing
# below means anything.
is 'g1 >= ck - 0.1 && g1 <= cke && g2 >= a && g2 <= b + 0.5' g1="$g1" g2="$g2" ck="$t_ck" cke="$t_ck_end" a="$t_a" b="$t_b" ||
	ps_fail "the target's main thread paused from $(rel "$g1") to $(rel "$g2") s, not from the checkpoint" \
		"($(rel "$t_ck")..$(rel "$t_ck_end")) to the restore ($(rel "$t_a")..$(rel "$t_b"))"

# Relative: resumed with what was left at the freeze, so after the restore
# it waits left = WAIT - (g1 - start): not much less (dead time counted),
# not much more (started over, which would be 1 s more).
for r in $RELATIVE; do
	s=$(calc 'b + o' b="$base" o="${f[$r]%..*}")
	e=$(calc 'b + o' b="$base" o="${f[$r]#*..}")
	left=$(calc 'w - (g1 - s)' w="$WAIT" g1="$g1" s="$s")
	after=$(calc 'e - g2' e="$e" g2="$g2")
	ps_log "$r: $left s left at the checkpoint, ended $after s after the restore resumed it" \
		"($(calc 'e - a' e="$e" a="$t_a") s after the restore began)"
	expect 'after >= left - 0.25' "$r ended $after s after the restore with $left s left: early, the dead time counted" \
		after="$after" left="$left"
	expect 'after <= left + 0.6' "$r ended $after s after the restore with $left s left: late, it started its $WAIT s over" \
		after="$after" left="$left"
	m="$r ended $(calc 'e - a' e="$e" a="$t_a") s after the restore began, $(calc 'e - b' e="$e" b="$t_b") s after it was done: want 3.0..4.8 s (about 4 s left)"
	expect 'e - a >= 3.0 && e - b <= 4.8' "$m" e="$e" a="$t_a" b="$t_b"
done
for r in nanosleep clock_rel; do
	s=$(calc 'b + o' b="$base" o="${f[$r]%..*}")
	expect 'r >= w - (g1 - s) - 0.1 && r <= w - (g1 - s) + 0.05' \
		"the image says $r had ${rem[$r]} s left, but it was frozen $(calc 'g1 - s' g1="$g1" s="$s") s into its $WAIT s" \
		r="${rem[$r]}" w="$WAIT" g1="$g1" s="$s"
done

# Absolute, due after the restore: wakes at its deadline (the target checks
# not before), not the dead time later.
d=$(calc 'br + o' br="${f[base_real]}" o="$ABS")
e=$(calc 'br + o' br="${f[base_real]}" o="${f[abs_real]}")
ps_log "clock_abs: deadline $ABS s, restored at $(calc 'r - br' r="$t_b_real" br="${f[base_real]}") s, woke at ${f[abs_real]} s (CLOCK_REALTIME since the start)"
m="clock_abs woke $(calc 'e - d' e="$e" d="$d") s after its deadline, restored $(calc 'b - d' b="$t_b_real" d="$d") s after it: want at most 1.5 s after the later of the two"
expect 'e <= (d > b ? d : b) + 1.5' "$m" e="$e" d="$d" b="$t_b_real"

# Absolute, due while the process was dead: wakes at once on the restore.
e=$(calc 'b + o' b="$base" o="${f[clock_abs_past]#*..}")
ps_log "clock_abs_past: deadline $ABS_PAST s, woke at ${f[abs_past_real]} s (CLOCK_REALTIME since the start), $(calc 'e - g2' e="$e" g2="$g2") s after the restore resumed it"
is 'o > g1 - b && o < g2 - b' o="$ABS_PAST" g1="$g1" g2="$g2" b="$base" ||
	ps_fail "test timing: clock_abs_past's deadline ($ABS_PAST s) is not inside the dead time ($(rel "$g1")..$(rel "$g2") s)"
expect 'e - g2 <= 0.5' "clock_abs_past (deadline passed while dead) woke $(calc 'e - g2' e="$e" g2="$g2") s after the restore, not at once" \
	e="$e" g2="$g2"

# Signal waits: ended on the signal sent after the restore, not before it.
for r in sigsuspend sigwaitinfo; do
	e=$(calc 'b + o' b="$base" o="${f[$r]#*..}")
	ps_log "$r: ended $(calc 'e - t' e="$e" t="$t_sig") s after the signal was sent"
	expect 'e >= t && e <= t + 2' "$r ended $(calc 'e - t' e="$e" t="$t_sig") s after the signal was sent: want 0..2 s" \
		e="$e" t="$t_sig"
done
[ "${f[kill_pid]}" = "$$,$$" ] ||
	bad+=("the signals' si_pid (sigsuspend, sigwaitinfo) is ${f[kill_pid]}, not this script's $$")

if [ "${#bad[@]}" != 0 ]; then
	for m in "${bad[@]}"; do
		printf '%s: FAIL: %s\n' "$PS_TEST" "$m" >&2
	done
	ps_fail "${#bad[@]} timing expectation(s) failed (above)"
fi
ps_pass "relative waits resumed with their time left, absolute ones kept their deadlines, signal waits ended on their signals"
rs_kill "$pid"
