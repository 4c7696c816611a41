#!/bin/bash
# restore_fd_anon: eventfds (count, semaphore mode), timerfds (a relative one resumes with
# the time it had left, the time the process was dead not counted; an absolute one fires at
# its time, not before; an unread expiration is kept; a periodic one expired many times unread
# keeps its period, every expiration it had and goes on firing), a signalfd with SIGUSR1 pending
# across the checkpoint, an inotify fd (its live watches keep their numbers and see new
# events) and a sealed memfd (bytes, size, seals, position, name) come back at the same
# fd numbers with their flags; the image holds the memfd's bytes.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

ANON=$TARGETS/restore_fd_anon
MONO_VALUE=4   # the target arms its relative timer for 4 s
DEAD=2         # seconds the process stays dead between checkpoint and restore

mono_now() { # CLOCK_MONOTONIC, as the target reads it
	python3 -c 'import time; print("%.6f" % time.monotonic())'
}

result_field() { # KEY: value of KEY=value in the last result line
	local w
	for w in $RS_RESULT; do
		case $w in "$1="*)
			printf '%s\n' "${w#*=}"
			return 0
			;;
		esac
	done
	ps_fail "no $1= in '$RS_RESULT'"
}

usr1_pending() { # PID: SIGUSR1 (bit 0x200) is in its shared pending set
	local pnd
	pnd=$(sed -n 's/^ShdPnd:[[:space:]]*//p' "/proc/$1/status")
	(((0x$pnd & 0x200) != 0))
}

rs_setup "$ANON"
res=$PS_TMP/anon.results
dir=$PS_TMP/watched
mkdir "$dir"
ps_start anon "$ANON" "$res" "$dir"
pid=$PS_TARGET
memfd=$(ps_field memfd)
armed=$(ps_field mono_armed)
periodic_armed=$(ps_field periodic_armed)

# SIGUSR1 is blocked in the target and its signalfd watches it: sent now and
# never read, it is pending across the checkpoint.
kill -USR1 "$pid"
ps_wait_for 5 "SIGUSR1 to be pending in $pid" usr1_pending "$pid"
# The relative timer runs 1 s first: a restore that re-armed it from its full
# 4 s would show in the time it has left.
sleep 1

t_ckpt0=$(mono_now)
rs_checkpoint "$pid" "$PS_TMP/img"
t_ckpt1=$(mono_now)
for kind in eventfd timerfd signalfd inotify memfd; do
	ps_py hasstr "$PS_TMP/img/fds.json" "$kind" || ps_fail "fds.json has no $kind fd"
done
data=$PS_TMP/img/fds/$memfd
[ -f "$data" ] || ps_fail "the image has no $data for the memfd (fd $memfd)"
# The target wrote byte i = (i * 131 + (i >> 8)) & 0xff for i < 10000.
python3 - "$data" <<'EOF' || ps_fail "the image's $data does not hold the memfd's bytes"
import sys
with open(sys.argv[1], "rb") as f:
    got = f.read(10000)
want = bytes((i * 131 + (i >> 8)) & 0xff for i in range(10000))
if got != want:
    at = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
    sys.exit("%s: %d bytes, first difference at byte %d" % (sys.argv[1], len(got), at))
EOF
ps_pass "fds.json has every kind; $data holds the memfd's 10000 bytes"

# Dead for a while: a relative timer that counted this time would show it.
sleep "$DEAD"
t_rest0=$(mono_now)
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
t_rest1=$(mono_now)
rs_verify "$pid" "$res"

# The relative timer, as the target found it on entering verify at mono_at:
# it had left its 4 s minus the time it ran alive (from arming to the
# checkpoint, from the restore to mono_at). The test knows each instant
# between two of its clock readings: the bounds below hold whatever the
# machine's speed, with 50 ms for rounding.
at=$(result_field mono_at)
left=$(result_field mono_left)
expired=$(result_field mono_expired)
bounds=$(awk -v v="$MONO_VALUE" -v a="$armed" -v c0="$t_ckpt0" -v c1="$t_ckpt1" \
	-v r0="$t_rest0" -v r1="$t_rest1" -v at="$at" \
	'BEGIN { printf "%.3f %.3f\n", v - (c1 - a) - (at - r0) - 0.05, v - (c0 - a) - (at - r1) + 0.05 }')
lo=${bounds% *}
hi=${bounds#* }
if awk -v lo="$lo" 'BEGIN { exit !(lo > 0.2) }'; then
	[ "$expired" = 0 ] ||
		ps_fail "the relative timer had expired when verify began, with at least ${lo}s left to run: the ${DEAD}s the process was dead counted"
	awk -v l="$left" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(l >= lo && l <= hi) }' ||
		ps_fail "the relative timer had ${left}s left when verify began, want ${lo}s to ${hi}s (the time the process was dead must not count, nor the time it ran be forgotten)"
	ps_pass "the relative timer resumed with the time it had left: ${left}s, within [${lo}, ${hi}]"
else
	ps_log "too slow a run to judge the relative timer's time left (lower bound ${lo}s): not checked"
fi
# The periodic timer (100 ms) was never read before the checkpoint: its first
# read after the restore (just after mono_at) holds at least every period from
# arming to t_ckpt0, and every period from the restore's end to mono_at.
unread=$(result_field periodic_unread)
want=$(awk -v a="$periodic_armed" -v c0="$t_ckpt0" -v r1="$t_rest1" -v at="$at" \
	'BEGIN { printf "%d %d\n", (c0 - a) / 0.1, (at > r1 ? (at - r1) / 0.1 : 0) }')
before=${want% *}
after=${want#* }
[ "$unread" -ge $((before + after)) ] ||
	ps_fail "the periodic timerfd's first read after the restore returned $unread expirations, want at least the $before it had at the checkpoint and $after since the restore"
ps_pass "the periodic timerfd kept its $before+ unread expirations (read $unread, $after+ of them since the restore) and its period"
rs_kill "$pid"
