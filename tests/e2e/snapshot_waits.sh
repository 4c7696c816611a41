#!/bin/bash
# snapshot_waits: a snapshot is invisible to threads blocked in epoll_wait and
# sigtimedwait, which the kernel would end with EINTR when a thread is only
# stopped (signal(7)): both must time out normally, not fail with EINTR.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

WAITS=$top_builddir/tests/targets/waits
ps_setup "$WAITS"
MNT=$PS_TMP/mnt
ps_mount "$MNT" "hold=0.2"
ps_start waits "$WAITS"
pid=$PS_TARGET
in_sigtimedwait() { [ "$(awk '{print $1}' "/proc/$pid/syscall")" = 128 ]; }
both_ended() { [ "$(grep -c '^\(epoll_wait\|sigtimedwait\)' "$PS_TMP/waits.out")" = 2 ]; }

ps_wait_for 5 "the main thread to block in sigtimedwait" in_sigtimedwait
sleep 0.3   # and the other in epoll_wait
cat "$MNT/$pid/image.json" >/dev/null
ps_wait_free "$pid" "after the snapshot"
ps_wait_for 15 "both waits to end" both_ended
out=$(cat "$PS_TMP/waits.out")
grep -q '^epoll_wait 0 ok' <<<"$out" || ps_fail "epoll_wait after a snapshot: $(grep epoll_wait <<<"$out")"
grep -q '^sigtimedwait -1 Resource temporarily unavailable' <<<"$out" ||
	ps_fail "sigtimedwait after a snapshot: $(grep sigtimedwait <<<"$out")"
ps_pass "epoll_wait and sigtimedwait timed out as if nothing happened"
