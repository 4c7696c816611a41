#!/bin/bash
# restore_signals_handlers: every signal disposition (handler, SA_SIGINFO, SA_ONSTACK, SA_NODEFER,
# SA_RESETHAND, SA_RESTART, sa_mask, an own sa_restorer, SIG_IGN, SIG_DFL) survives a restore
# and behaves as its flags say; the signals pending at the checkpoint -- SIGUSR1 sent twice by
# this shell (coalesced into one, its sender's pid and uid kept), ten sigqueue'd SIGRTMIN+10
# with values 100..109, two SIGRTMIN+11 queued to one thread -- are in the image, are pending
# again after the restore, and come once each, in order, with their siginfo, to the right
# thread, only when the program unblocks them.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

BIN=$TARGETS/restore_signals_handlers
rs_setup "$BIN"
res=$PS_TMP/sighandlers.results
# The `kill` below is a builtin run by this very process: the sender the
# target must see in SIGUSR1's si_pid, after the restore too.
me=$BASHPID
ps_start sighandlers "$BIN" "$res" "$me"
pid=$PS_TARGET
helper=$(ps_field helper)
rt10=$(ps_field rt10)
rt11=$(ps_field rt11)

# has_bit STATUS FIELD SIGNO: SIGNO's bit is set in FIELD (SigPnd, ShdPnd,
# SigBlk) of the /proc status file STATUS.
has_bit() {
	local hex
	hex=$(awk -v f="$2:" '$1 == f { print $2 }' "$1")
	[ -n "$hex" ] && (((16#$hex >> ($3 - 1)) & 1))
}

# pending_as_set_up WHEN: what /proc shows of the pending signals: SIGUSR1 and
# SIGRTMIN+10 pending for the process and blocked in the main thread,
# SIGRTMIN+11 pending for the helper thread only.
pending_as_set_up() {
	local st=/proc/$pid/status main=/proc/$pid/task/$pid/status th=/proc/$pid/task/$helper/status s
	[ -r "$th" ] || ps_fail "$1: the helper thread $helper of $pid is missing"
	for s in 10 "$rt10"; do
		has_bit "$st" ShdPnd "$s" || ps_fail "$1: signal $s is not in ShdPnd: $(grep ShdPnd "$st")"
		has_bit "$main" SigBlk "$s" || ps_fail "$1: signal $s is not blocked in the main thread: $(grep SigBlk "$main")"
	done
	has_bit "$th" SigPnd "$rt11" || ps_fail "$1: signal $rt11 is not pending in thread $helper: $(grep SigPnd "$th")"
	! has_bit "$main" SigPnd "$rt11" || ps_fail "$1: signal $rt11 is pending in the main thread: $(grep SigPnd "$main")"
	ps_pass "$1: SIGUSR1 and signal $rt10 pending for $pid, signal $rt11 for thread $helper only"
}

kill -s USR1 "$pid"
kill -s USR1 "$pid"   # coalesces with the first: one delivery expected
usr1_pending() { has_bit "/proc/$pid/status" ShdPnd 10; }
ps_wait_for 5 "SIGUSR1 to be pending in $pid" usr1_pending
pending_as_set_up "before the checkpoint"

rs_checkpoint "$pid" "$PS_TMP/img"

# The image: the shared queue in signals.json, each thread's own queue in
# registers/<tid>.json, siginfo in "raw" (hex of the kernel's 128 bytes).
IMAGE_PY=$(
	cat <<'EOF'
import json, os, signal, struct, sys

img = sys.argv[1]
pid, helper, sender, rt10, rt11 = (int(a) for a in sys.argv[2:])
uid = os.getuid()
SI_USER, SI_QUEUE = 0, -1

def load(name):
    with open(os.path.join(img, name)) as f:
        return json.load(f)

def info(e):
    """(signo, si_code, si_pid, si_uid, si_value) of a saved siginfo."""
    raw = bytes.fromhex(e["raw"])
    signo, _, code = struct.unpack_from("<iii", raw, 0)
    spid, suid, value = struct.unpack_from("<iIi", raw, 16)
    if (signo, code) != (e["signo"], e["code"]):
        sys.exit("siginfo %r: signo/code fields disagree with raw (%d, %d)" % (e, signo, code))
    return signo, code, spid, suid, value

sig = load("signals.json")
shared = [info(e) for e in sig["pending"]]
want = [(rt10, SI_QUEUE, pid, uid, 100 + i) for i in range(10)]
got = [s for s in shared if s[0] == rt10]
if got != want:
    sys.exit("signals.json: the queued signal %d is %r, want %r" % (rt10, got, want))
got = [s[:4] for s in shared if s[0] == signal.SIGUSR1]
if got != [(signal.SIGUSR1, SI_USER, sender, uid)]:
    sys.exit("signals.json: pending SIGUSR1 %r, want once from pid %d uid %d, SI_USER" % (got, sender, uid))
if len(shared) != 11:
    sys.exit("signals.json: %d pending signals, want 11: %r" % (len(shared), shared))

acts = {a["signo"]: a for a in sig["actions"]}
def act(signo, key):
    return acts[signo][key]
for signo, flag in ((signal.SIGINT, "SA_ONSTACK"), (signal.SIGTERM, "SA_NODEFER"),
                    (signal.SIGWINCH, "SA_RESETHAND"), (signal.SIGPROF, "SA_RESTART"),
                    (signal.SIGHUP, "SA_SIGINFO")):
    if flag not in act(signo, "flags"):
        sys.exit("signals.json: signal %d flags %r lack %s" % (signo, act(signo, "flags"), flag))
if act(signal.SIGVTALRM, "handler") != "SIG_IGN" or act(signal.SIGXCPU, "handler") != "SIG_DFL":
    sys.exit("signals.json: SIGVTALRM %r SIGXCPU %r, want SIG_IGN and SIG_DFL"
             % (act(signal.SIGVTALRM, "handler"), act(signal.SIGXCPU, "handler")))
rt5 = rt10 - 5
if act(rt5, "restorer") == act(signal.SIGHUP, "restorer"):
    sys.exit("signals.json: signal %d has glibc's restorer %s, not its own" % (rt5, act(rt5, "restorer")))

mine = [info(e) for e in load("registers/%d.json" % helper)["pending"]]
want = [(rt11, SI_QUEUE, pid, uid, 7), (rt11, SI_QUEUE, pid, uid, 8)]
if mine != want:
    sys.exit("registers/%d.json: pending %r, want %r" % (helper, mine, want))
main = [info(e) for e in load("registers/%d.json" % pid)["pending"]]
if main:
    sys.exit("registers/%d.json: the main thread has pending %r, want none" % (pid, main))
print("10 x signal %d (100..109) and SIGUSR1 from %d shared, 2 x signal %d (7, 8) for thread %d"
      % (rt10, sender, rt11, helper))
EOF
)
out=$(python3 -c "$IMAGE_PY" "$PS_TMP/img" "$pid" "$helper" "$me" "$rt10" "$rt11" 2>&1) ||
	ps_fail "the image's pending signals: $out"
ps_pass "image: $out"

rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
pending_as_set_up "after the restore"
rs_verify "$pid" "$res"
rs_kill "$pid"
