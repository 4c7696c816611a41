#!/bin/bash
# daemon_death: a frozen process runs on when procsnap is killed with SIGKILL,
# when it is unmounted while a snapshot is held, and when it gets SIGTERM.
set -eu -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ps_setup "$COUNTER"
ps_start counter "$COUNTER"
pid=$(ps_field pid)
addr=$(ps_field addr)

runs_on() { # WHEN: the counter is free, alive and advancing
	local before after
	ps_wait_free "$pid" "$1"
	before=$(ps_py live-u64 "$pid" "$addr")
	sleep 0.3
	after=$(ps_py live-u64 "$pid" "$addr")
	[ "$after" -gt "$before" ] || ps_fail "counter stuck at $before $1"
	ps_pass "the counter runs on $1 ($before -> $after)"
}

daemon_gone() { ! ps_alive "$PS_DAEMON"; }

daemon_exits() { # WHEN
	ps_wait_for 10 "procsnap $PS_DAEMON to exit $1" daemon_gone
	wait "$PS_DAEMON" || true
}

# 1. SIGKILL of the daemon while a handle holds the snapshot.
ps_mount "$PS_TMP/mnt1" hold=30
exec 9<"$PS_TMP/mnt1/$pid/image.json"
ps_assert_frozen "$pid" "$PS_DAEMON" "while image.json is open"
kill -KILL "$PS_DAEMON"
{ wait "$PS_DAEMON"; } 2>/dev/null || true   # no "Killed" job message
runs_on "after kill -9 of procsnap"
exec 9<&-
ps_unmount "$PS_TMP/mnt1"
ps_pass "the dead mount is cleaned up"

# 2. Unmount while the snapshot is held (by the hold time: an open handle
#    would make the unmount fail with EBUSY).
ps_mount "$PS_TMP/mnt2" hold=30
cat "$PS_TMP/mnt2/$pid/image.json" >/dev/null
ps_assert_frozen "$pid" "$PS_DAEMON" "within hold=30 after reading image.json"
fusermount3 -u "$PS_TMP/mnt2" || ps_fail "fusermount3 -u failed while a snapshot was held"
runs_on "after fusermount3 -u with the snapshot held"
daemon_exits "after fusermount3 -u"

# 3. SIGTERM while the snapshot is held.
ps_mount "$PS_TMP/mnt3" hold=30
cat "$PS_TMP/mnt3/$pid/image.json" >/dev/null
ps_assert_frozen "$pid" "$PS_DAEMON" "within hold=30 after reading image.json"
kill -TERM "$PS_DAEMON"
runs_on "after SIGTERM of procsnap"
daemon_exits "after SIGTERM"
