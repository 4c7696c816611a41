#!/bin/bash
# restore_timers: interval timers and POSIX timers come back with the time
# they had left at the checkpoint (the 2 s the process was dead do not count),
# their intervals, and the POSIX ones with their ids, clocks, signals, values
# and target thread. A 3 s ITIMER_REAL and a 3 s POSIX timer checkpointed 1 s
# after being armed fire once each, about 2 s after the restore; a 500 ms
# periodic timer keeps signalling its thread every 500 ms; a SIGEV_NONE timer
# keeps running down; a never armed one stays 0/0; a deleted id stays unused.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

TIMERS=$TARGETS/restore_timers
DEAD=2            # seconds between the kill and the restore
AFTER=3.5         # seconds between the restore mark and the verification
LATE=0.5          # how late a timer's signal may be handled (a loaded machine)

# Timer ids are given back by timer_create in PR_TIMER_CREATE_RESTORE_IDS
# mode, which Linux has since 6.17.
kernel=$(uname -r)
kernel=${kernel%%-*}
[ "$(printf '%s\n' 6.17 "$kernel" | sort -V | head -n1)" = 6.17 ] ||
	ps_skip "Linux $kernel: restoring POSIX timer ids needs 6.17 or later"

rs_setup "$TIMERS"
res=$PS_TMP/timers.results
ps_start timers "$TIMERS" "$res"
pid=$PS_TARGET
sleep 1   # the 3 s one-shots have about 2 s left when the checkpoint freezes them
rs_checkpoint "$pid" "$PS_TMP/img"

# The image: process.json's "timers" lists exactly the four live POSIX timers
# by id with their settings, "itimers" the three interval timers; print the
# seconds ITIMER_REAL, timer a and timer c had left.
saved=$(python3 - "$PS_TMP/img/process.json" "$PS_READY" <<'EOF'
import json, sys

def die(msg):
    sys.exit("process.json: " + msg)

def num(v):
    return v if isinstance(v, int) else int(str(v), 0)

j = json.load(open(sys.argv[1]))
r = dict(w.split("=", 1) for w in sys.argv[2].split()[1:])
timers = {num(t["id"]): t for t in j.get("timers") or die("no \"timers\" list")}
want = {int(r[k]): k for k in "abcd"}
if sorted(timers) != sorted(want):
    die("timer ids %s, want %s (the deleted id %s must not be there)"
        % (sorted(timers), sorted(want), r["deleted"]))
clocks = {"CLOCK_REALTIME": 0, "CLOCK_MONOTONIC": 1, "CLOCK_BOOTTIME": 7}
expect = {   # clock, notify, signo, sigval, notify_tid
    "a": (1, "signal", int(r["sig_a"]), 1234, 0),
    "b": (1, "thread_id", int(r["sig_b"]), 4321, int(r["worker"])),
    "c": (0, "none", None, None, 0),
    "d": (7, "signal", int(r["sig_d"]), 0, 0),
}
for tid, name in want.items():
    t = timers[tid]
    clock = clocks.get(t["clock"], t["clock"])
    got = (num(clock), t["notify"], num(t["signo"]), num(t["sigval"]), num(t["notify_tid"]))
    for i, field in enumerate(("clock", "notify", "signo", "sigval", "notify_tid")):
        if expect[name][i] is not None and got[i] != expect[name][i]:
            die("timer %s (id %d): %s is %r, want %r" % (name, tid, field, got[i], expect[name][i]))

def left(t, name, lo, hi, interval):
    v, i = num(t["value_ns"]), num(t["interval_ns"])
    if not lo < v <= hi or i != interval:
        die("%s: %d ns left, interval %d ns; want in (%d, %d], interval %d"
            % (name, v, i, lo, hi, interval))
    return v / 1e9

it = j.get("itimers") or die("no \"itimers\"")
real = left(it["real"], "itimers.real", 0, 3 * 10**9, 0)
for k in ("virtual", "prof"):
    left(it[k], "itimers." + k, 90 * 10**9, 101 * 10**9, 10**9)
a = left(timers[int(r["a"])], "timer a", 0, 3 * 10**9, 0)
left(timers[int(r["b"])], "timer b", 0, 5 * 10**8, 5 * 10**8)
c = left(timers[int(r["c"])], "timer c", 50 * 10**9, 60 * 10**9, 0)
d = timers[int(r["d"])]
if num(d["value_ns"]) or num(d["interval_ns"]):
    die("timer d was never armed, but shows %s ns left, interval %s" % (d["value_ns"], d["interval_ns"]))
print("%.6f %.6f %.6f" % (real, a, c))
EOF
) || ps_fail "the image's timers are not the process's"
read -r real_left a_left c_left <<<"$saved"
ps_pass "process.json holds the 4 POSIX timers by id and the itimers; left: ITIMER_REAL ${real_left}s, a ${a_left}s, c ${c_left}s"

sleep "$DEAD"   # were this counted, the one-shots would fire at the restore
t_restore=$EPOCHREALTIME
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
t_mark=$EPOCHREALTIME
kill -USR1 "$pid"   # the restore mark: the one-shots must fire after it
sleep "$AFTER"
t_verify=$EPOCHREALTIME
rs_verify "$pid" "$res"

field() { # NAME: NAME=value in the result line
	local v
	v=$(grep -oE "(^| )$1=[^ ;]*" <<<"$RS_RESULT") || ps_fail "no $1= in '$RS_RESULT'"
	printf '%s\n' "${v#*=}"
}

# within WHAT VALUE LO HI: LO <= VALUE <= HI, all seconds
within() {
	awk -v x="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(x >= lo && x <= hi) }' ||
		ps_fail "$1: $2 s, want between $3 and $4 s"
}

calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

[ "$(field mark)" = yes ] || ps_fail "the target never saw the restore mark (SIGUSR1)"

# A one-shot resumed at the restore with what it had left fires that long
# after it. Relative to the mark: no earlier than what it had left minus the
# time from the start of the copy to the mark (it was armed during the copy),
# and no later than what it had left (not re-armed from its full 3 s).
since_restore=$(calc "$t_mark - $t_restore")
for t in real:ITIMER_REAL:"$real_left" a:"timer a":"$a_left"; do
	name=${t%%:*}
	left=${t##*:}
	t=${t#*:}
	within "${t%%:*} fired after the restore mark" "$(field "${name}_after_mark")" \
		"$(calc "$left - $since_restore - 0.25")" "$(calc "$left + $LATE")"
done

# Timer c ran down while the process ran (at least $AFTER s), not while it
# was dead: no more than from the start of the restore to the verification.
within "timer c ran down" "$(calc "$c_left - $(field c_left)")" \
	"$(calc "$AFTER - 0.5")" "$(calc "$t_verify - $t_restore + $LATE")"
ps_pass "the one-shots fired once, with what they had left; timer c lost only the time the process ran"
rs_kill "$pid"
