#!/bin/bash
# daemon_kill: kill -9 of procsnap at any instant of a capture harms no
# process. First at every named point of the remote-syscall path (procsnap
# kills itself there: PROCSNAP_DIE_AT), then at random instants 0-50 ms into
# `cp -r` of a 64 MiB process, then for a process killed itself 0-2 ms into
# its snapshot (its parent must reap it at once). The victim target watches
# its registers (general, SSE, AVX), signal masks, alternate stack, a
# usleep() and a blocking read() all the time and reports any change;
# its memory checksum is checked at the end.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

VICTIM=$top_builddir/tests/targets/victim
TRIALS=${PS_KILL_TRIALS:-200}
ps_setup "$VICTIM"
results=$PS_TMP/victim.results
: >"$results"
ps_start victim "$VICTIM" "$results" 64
pid=$(ps_field pid)
progress=$(ps_field progress)
mounts=0

# What the victim reported that it must not have: any change, and an EINTR
# of its waits except where the random kills allow one (below).
no_failures() { # WHEN
	if grep -q "^FAIL\|^EINTR" "$results"; then
		ps_fail "the victim saw its state change $1: $(grep -m3 "^FAIL\|^EINTR" "$results" | tr '\n' ' ')"
	fi
}

advances() { # WHEN
	local before after
	before=$(ps_py live-u64 "$pid" "$progress")
	sleep 0.15
	after=$(ps_py live-u64 "$pid" "$progress")
	[ "$after" -gt "$before" ] || ps_fail "the victim is stuck $1 ($(ps_describe "$pid"))"
}

unharmed() { # WHEN
	ps_wait_free "$pid" "$1"
	advances "$1"
	no_failures "$1"
}

# A daemon that died of SIGKILL; its mount is cleaned up.
reap_daemon() { # WHAT
	local rc=0
	wait "$PS_DAEMON" 2>/dev/null || rc=$?
	[ "$rc" = 137 ] || ps_fail "procsnap did not die of SIGKILL $1 (exit status $rc)"
	ps_unmount "$MNT"
}

new_mount() {
	mounts=$((mounts + 1))
	ps_mount "$PS_TMP/m$mounts"
	MNT=$PS_TMP/m$mounts
}

# 1. Every named point of the borrowing path, in several threads' sessions.
die_at() { # POINT
	export PROCSNAP_DIE_AT=$1
	new_mount
	unset PROCSNAP_DIE_AT
	if cat "$MNT/$pid/image.json" >/dev/null 2>&1; then
		ps_fail "the snapshot was taken although procsnap was to die at $1"
	fi
	reap_daemon "at $1"
	unharmed "after procsnap died at $1"
}

for point in net-laid net-laid:2 net-laid:4 \
	remote-set remote-entry remote-exit remote-set:2 remote-entry:3 remote-exit:4 \
	remote-set:40 remote-entry:70 remote-exit:75 remote-entry:78 remote-set:81 \
	end-mask end-regs end-mask:3 end-regs:4; do
	die_at "$point"
done
ps_pass "procsnap killed at each point of a remote syscall: the victim ran on unharmed"

# While the snapshot is held: the waits our interrupt ended with EINTR were
# already set to be made again.
for ((i = 1; i <= 5; i++)); do
	new_mount
	exec 9<"$MNT/$pid/image.json"
	sleep 0.05
	kill -KILL "$PS_DAEMON"
	exec 9<&-
	reap_daemon "while holding the snapshot"
	unharmed "after procsnap died holding its snapshot"
done
ps_pass "procsnap killed while holding a snapshot: the victim ran on unharmed"

# 2. At random instants of cp -r. A kill can fall between the interrupt
#    that stops a thread blocked in epoll_wait or sigtimedwait and that
#    thread's stop: the kernel has ended its wait with EINTR (as SIGSTOP
#    would), and with its tracer gone the thread returns it before procsnap
#    can rewind it. That, counted, is the one thing allowed here.
changed() { # WHEN
	if grep -q '^FAIL' "$results"; then
		ps_fail "the victim saw its state change $1: $(grep -m3 '^FAIL' "$results" | tr '\n' ' ')"
	fi
}
for ((i = 1; i <= TRIALS; i++)); do
	new_mount
	cp -r "$MNT/$pid" "$PS_TMP/copy" 2>/dev/null &
	copier=$!
	sleep "0.0$(printf '%02d' $((RANDOM % 50)))"
	kill -KILL "$PS_DAEMON"
	wait "$copier" 2>/dev/null || true
	reap_daemon "in trial $i"
	rm -rf "$PS_TMP/copy"
	ps_wait_free "$pid" "after kill -9 of procsnap in trial $i"
	changed "in trial $i"
	[ $((i % 20)) != 0 ] || advances "after trial $i"
done
ps_wait_free "$pid" "after $TRIALS kills of procsnap during cp -r"
advances "after $TRIALS kills of procsnap during cp -r"
kill -USR2 "$pid"
ps_wait_for 10 "the victim's memory check" grep -q '^OK memory' "$results"
changed "in its memory"
interrupted=$(grep -c '^EINTR' "$results" || true)
ps_pass "$TRIALS kills of procsnap 0-50 ms into cp -r: the victim ran on, memory unchanged ($interrupted fell between a wait's interrupt and its thread's stop: EINTR)"

# 3. A process killed 0-2 ms into its snapshot is its parent's to reap at
#    once, never held as a zombie by procsnap.
new_mount
for ((i = 1; i <= 20; i++)); do
	waiter_out=$PS_TMP/waiter.$i
	# The parent: a shell that starts a sleeper and reports its own wait.
	bash -c 'sleep 100 & echo $! >"$1"; wait; echo reaped >>"$1"' waiter "$waiter_out" &
	waiter=$!
	PS_PIDS+=("$waiter")
	ps_wait_for 5 "the sleeper's pid" test -s "$waiter_out"
	child=$(head -n1 "$waiter_out")
	cat "$MNT/$child/image.json" >/dev/null 2>&1 &
	reader=$!
	sleep "0.00$((RANDOM % 3))"
	kill -KILL "$child"
	ps_wait_for 5 "the parent to reap its killed child (trial $i)" grep -q reaped "$waiter_out"
	wait "$reader" 2>/dev/null || true
	wait "$waiter" 2>/dev/null || true
done
ps_pass "20 processes killed during their snapshot were reaped by their parents at once"
