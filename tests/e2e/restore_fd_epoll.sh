#!/bin/bash
# restore_fd_epoll: an epoll fd watching a FIFO comes back with its registration
# (events and data), a thread blocked in epoll_wait at the checkpoint wakes on
# the FIFO's data after the restore, and the main thread blocked in
# sigtimedwait times out normally: neither sees EINTR.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=restore_lib.sh
. "$(dirname "$0")/restore_lib.sh"

WAITS=$top_builddir/tests/targets/waits
rs_setup "$WAITS"
fifo=$PS_TMP/fifo
mkfifo "$fifo"
ps_start waits "$WAITS" "$fifo"
pid=$PS_TARGET
in_sigtimedwait() { [ "$(awk '{print $1}' "/proc/$pid/syscall")" = 128 ]; }
ps_wait_for 5 "the main thread to block in sigtimedwait" in_sigtimedwait
sleep 0.3   # and the other thread in epoll_wait
rs_checkpoint "$pid" "$PS_TMP/img"
grep -q '"eventpoll"' "$PS_TMP/img/fds.json" || ps_fail "fds.json has no eventpoll fd"
rs_restore_ok "$PS_TMP/img" "$pid" "$pid"
echo wake >"$fifo"
ended() { [ "$(grep -c '^\(epoll_wait\|sigtimedwait\)' "$PS_TMP/waits.out")" = 2 ]; }
ps_wait_for 15 "both waits to end after the restore" ended
out=$(cat "$PS_TMP/waits.out")
grep -q '^epoll_wait 1 ok data=5eed0000feed$' <<<"$out" ||
	ps_fail "epoll_wait after the restore: $(grep epoll_wait <<<"$out")"
grep -q '^sigtimedwait -1 Resource temporarily unavailable' <<<"$out" ||
	ps_fail "sigtimedwait after the restore: $(grep sigtimedwait <<<"$out")"
ps_pass "epoll_wait woke on the FIFO with its data; sigtimedwait timed out; no EINTR"
rs_kill "$pid"
